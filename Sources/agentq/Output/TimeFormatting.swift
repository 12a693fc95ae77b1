import JobQueue

extension Timestamp {
    /// `2026-11-21 15:20:01`, UTC, for tables.
    var shortText: String {
        let iso = iso8601
        return String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }
}

/// `1:05` or `2:03:04`.
func durationText(seconds: Double) -> String {
    guard seconds.isFinite, seconds >= 0 else { return "--:--" }
    let total = Int(seconds.rounded())
    let hours = total / 3600, minutes = (total % 3600) / 60, secs = total % 60
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(minutes):\(two(secs))"
}
