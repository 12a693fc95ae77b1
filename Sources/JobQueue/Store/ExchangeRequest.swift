/// One round trip of a worker to the store: see ``JobStore/exchange(_:)``.
public struct ExchangeRequest: Sendable {
    public var workerID: String
    public var now: Timestamp
    public var outcomes: [JobOutcome]
    /// Finished jobs that reached the sink, in the state they were delivered in.
    public var delivered: [Job]
    public var claimLimit: Int
    public var claimScope: ClaimScope
    public var leaseMilliseconds: Int64
    /// The claiming worker's host: jobs pinned to another host (``NewJob/host``) are left to it.
    public var hostID: String?

    public init(
        workerID: String, now: Timestamp, outcomes: [JobOutcome] = [], delivered: [Job] = [],
        claimLimit: Int = 0, claimScope: ClaimScope = .all, leaseMilliseconds: Int64 = 30_000,
        hostID: String? = nil
    ) {
        self.claimScope = claimScope
        self.workerID = workerID
        self.now = now
        self.outcomes = outcomes
        self.delivered = delivered
        self.claimLimit = claimLimit
        self.leaseMilliseconds = leaseMilliseconds
        self.hostID = hostID
    }
}
