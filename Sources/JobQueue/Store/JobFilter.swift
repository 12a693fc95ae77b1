/// Which jobs ``JobStore/jobs(matching:)`` returns, in submission order.
public struct JobFilter: Sendable {
    public var status: JobStatus?
    public var batchID: String?
    public var lane: String?
    /// Only jobs after this `seq`, for paging.
    public var afterSeq: Int64?
    public var limit: Int?
    /// Newest first instead of oldest first.
    public var newestFirst: Bool

    public init(
        status: JobStatus? = nil, batchID: String? = nil, lane: String? = nil, afterSeq: Int64? = nil,
        limit: Int? = nil, newestFirst: Bool = false
    ) {
        self.status = status
        self.batchID = batchID
        self.lane = lane
        self.afterSeq = afterSeq
        self.limit = limit
        self.newestFirst = newestFirst
    }
}
