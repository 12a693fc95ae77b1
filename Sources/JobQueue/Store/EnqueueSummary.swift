/// What one ``JobStore/enqueue(batch:_:)`` inserted: the batch (if any) and how many jobs.
public struct EnqueueSummary: Sendable {
    public var batchID: String?
    public var count: Int
}
