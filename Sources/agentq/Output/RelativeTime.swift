import JobQueue

/// "just now", "2 minutes ago", "3 days ago".
func relativeTime(_ time: Timestamp, now: Timestamp = .now) -> String {
    let seconds = max(0, (now.milliseconds - time.milliseconds) / 1000)
    func ago(_ value: Int64, _ unit: String) -> String { "\(value) \(unit)\(value == 1 ? "" : "s") ago" }
    switch seconds {
    case ..<10: return "just now"
    case ..<60: return ago(seconds, "second")
    case ..<3600: return ago(seconds / 60, "minute")
    case ..<86400: return ago(seconds / 3600, "hour")
    default: return ago(seconds / 86400, "day")
    }
}
