import Foundation
import JobQueue

/// What a prune removed (or, in a dry run, would remove), for `agentq prune` and the workers' log.
///
/// ```swift
/// let report = try Retention(queue: queue).prune(PruneRequest(finishedBefore: age, dryRun: true))
/// print(RetentionDocument.json(for: report))
/// ```
public struct RetentionReport: Sendable, Hashable {
    public var dryRun: Bool
    /// Jobs, attempt errors and batches; nil when jobs were not asked for.
    public var jobs: PruneReport?
    /// Sessions and their messages; nil when sessions were not asked for.
    public var sessions: SessionPruneReport?
    public var resultFiles = 0
    public var resultBytes: Int64 = 0
    /// Bytes the database file gave back to the file system afterwards.
    public var databaseBytesFreed: Int64 = 0
    /// The longest any one of its transactions held the database's write lock, in milliseconds.
    public var largestWriteHoldMilliseconds: Double = 0

    public init(dryRun: Bool) { self.dryRun = dryRun }

    /// A one-line summary: `pruned 1200 jobs (3 batches), 4 sessions (81 messages), 1200 result files; 2.1 MB`.
    public var summary: String {
        var parts: [String] = []
        if let jobs {
            parts.append("\(jobs.jobs) job(s) (\(jobs.attemptErrors) attempt error(s), \(jobs.batches) batch(es))")
        }
        if let sessions { parts.append("\(sessions.sessions) session(s) (\(sessions.messages) message(s))") }
        parts.append("\(resultFiles) result file(s)")
        let bytes = (jobs?.bytes ?? 0) + (sessions?.bytes ?? 0) + resultBytes
        return (dryRun ? "would prune " : "pruned ") + parts.joined(separator: ", ") + "; about \(Self.size(bytes))"
            + (dryRun ? "" : " (database file \(Self.size(databaseBytesFreed)) smaller)")
    }

    /// Bytes as `512 B`, `3.4 KB`, `2.1 MB`, `1.3 GB`.
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
