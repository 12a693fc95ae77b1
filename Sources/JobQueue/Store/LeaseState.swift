/// A running job's lease as a heartbeat saw it.
public struct LeaseState: Sendable, Hashable {
    public var seq: Int64
    public var cancelRequested: Bool
}
