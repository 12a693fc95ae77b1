/// What one ``Retention/prune(_:now:)`` removes. Every part is optional; nil keeps that kind.
///
/// ```swift
/// let request = PruneRequest(finishedBefore: try RetentionAge(parsing: "7d", option: "--finished-before"),
///                            removeResults: true)
/// ```
public struct PruneRequest: Sendable, Hashable {
    /// Finished jobs that finished longer ago than this, their attempts, and emptied batches.
    public var finishedBefore: RetentionAge?
    /// Ended and timed-out sessions last active longer ago than this, with their history.
    public var sessionsEndedBefore: RetentionAge?
    /// Also remove the result files of the jobs pruned.
    public var removeResults: Bool
    /// Result files written longer ago than this, whatever their job (the policy's `retention.results`).
    public var resultsWrittenBefore: RetentionAge?
    /// Count what would go; remove nothing.
    public var dryRun: Bool

    public init(
        finishedBefore: RetentionAge? = nil, sessionsEndedBefore: RetentionAge? = nil, removeResults: Bool = false,
        resultsWrittenBefore: RetentionAge? = nil, dryRun: Bool = false
    ) {
        self.finishedBefore = finishedBefore
        self.sessionsEndedBefore = sessionsEndedBefore
        self.removeResults = removeResults
        self.resultsWrittenBefore = resultsWrittenBefore
        self.dryRun = dryRun
    }

    /// Asks for nothing at all.
    public var isEmpty: Bool { finishedBefore == nil && sessionsEndedBefore == nil && resultsWrittenBefore == nil }
}
