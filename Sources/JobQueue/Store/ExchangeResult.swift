/// What one ``JobStore/exchange(_:)`` round trip returns.
public struct ExchangeResult: Sendable {
    /// Jobs that reached an end state in this exchange and still have to reach the sink.
    public var finished: [Job]
    /// Newly claimed jobs, highest priority first, then in submission order.
    public var claimed: [Job]
    /// Outcomes the store refused because the job was no longer this worker's (its lease
    /// expired and another worker took it over), by `seq`.
    public var refused: Set<Int64> = []
}
