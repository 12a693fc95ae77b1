/// What ``SessionStore/pruneClosedSessions(endedBefore:dryRun:)`` removed (or would remove).
///
/// ```swift
/// let report = try sessions.pruneClosedSessions(endedBefore: cutoff, dryRun: true)
/// print(report.sessions, report.messages, report.bytes)
/// ```
public struct SessionPruneReport: Sendable, Hashable {
    public var sessions = 0
    public var messages = 0
    /// About how many bytes of history went (message texts, tool calls, a share per row).
    public var bytes: Int64 = 0
    /// The longest one of its transactions held the write lock, in milliseconds.
    public var largestWriteHoldMilliseconds: Double = 0

    public init() {}
}
