/// What ``JobStore/pruneFinishedJobs(finishedBefore:dryRun:onPruned:)`` removed, or would
/// remove in a dry run.
///
/// ```swift
/// let report = try store.pruneFinishedJobs(finishedBefore: cutoff, dryRun: true) { _ in }
/// print("\(report.jobs) jobs, about \(report.bytes) bytes")
/// ```
public struct PruneReport: Sendable, Hashable {
    /// Finished jobs removed.
    public var jobs = 0
    /// Recorded errors of their failed attempts removed with them.
    public var attemptErrors = 0
    /// Batches removed because none of their jobs was left.
    public var batches = 0
    /// About how many bytes of job data (inputs, outputs, metadata, errors) went: the pages
    /// they freed are given back to the file system by an incremental vacuum afterwards.
    public var bytes: Int64 = 0
    /// Write transactions the prune ran.
    public var transactions = 0
    /// The longest any one of them held the database's write lock, in milliseconds: what a
    /// heartbeat or a claim of another process could have waited at worst.
    public var largestWriteHoldMilliseconds: Double = 0

    public init() {}
}

/// A job a prune removed: enough to remove what lives outside the database (its result file).
public struct PrunedJob: Sendable, Hashable {
    public var id: String
    public var batchID: String?

    public init(id: String, batchID: String?) {
        self.id = id
        self.batchID = batchID
    }
}
