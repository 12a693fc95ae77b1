/// A group of jobs submitted together (one bulk file), with its progress.
public struct Batch: Sendable, Hashable {
    /// `bat_` followed by a sortable unique identifier.
    public var id: String
    /// Where the jobs came from: a file path, `-` for standard input, or a caller's label.
    public var source: String?
    public var createdAt: Timestamp
    public var counts: JobCounts

    public init(id: String, source: String?, createdAt: Timestamp, counts: JobCounts) {
        self.id = id
        self.source = source
        self.createdAt = createdAt
        self.counts = counts
    }

    /// `running` while any job is queued or running, otherwise `completed`, or `cancelled`
    /// when every unsuccessful job was cancelled and at least one was.
    public var status: String {
        if counts.queued + counts.running > 0 { return "running" }
        if counts.cancelled > 0 && counts.failed == 0 && counts.succeeded == 0 { return "cancelled" }
        return "completed"
    }
}

/// How many jobs are in each status.
public struct JobCounts: Sendable, Hashable {
    public var queued = 0
    public var running = 0
    public var succeeded = 0
    public var failed = 0
    public var cancelled = 0

    public init() {}

    public var total: Int { queued + running + succeeded + failed + cancelled }

    public subscript(status: JobStatus) -> Int {
        get {
            switch status {
            case .queued: return queued
            case .running: return running
            case .succeeded: return succeeded
            case .failed: return failed
            case .cancelled: return cancelled
            }
        }
        set {
            switch status {
            case .queued: queued = newValue
            case .running: running = newValue
            case .succeeded: succeeded = newValue
            case .failed: failed = newValue
            case .cancelled: cancelled = newValue
            }
        }
    }
}
