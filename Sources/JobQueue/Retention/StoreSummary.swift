/// How much a ``JobStore`` holds, for `agentq stats`.
///
/// ```swift
/// let summary = try store.summary()
/// print(summary.counts.succeeded, summary.batches, summary.oldestFinishedAt?.iso8601 ?? "-")
/// ```
public struct StoreSummary: Sendable, Hashable {
    /// Jobs per status (staged jobs of a submission still loading are not counted).
    public var counts: JobCounts
    /// Batches, loading ones excluded.
    public var batches: Int
    /// When the job that finished first among those still kept finished; nil when none has.
    public var oldestFinishedAt: Timestamp?

    public init(counts: JobCounts, batches: Int, oldestFinishedAt: Timestamp?) {
        self.counts = counts
        self.batches = batches
        self.oldestFinishedAt = oldestFinishedAt
    }
}
