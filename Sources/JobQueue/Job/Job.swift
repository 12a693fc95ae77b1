/// A unit of work in the queue, as the store holds it.
///
/// The engine treats `handler`, `lane`, `input`, `metadata` and `output` as opaque: the
/// layer above decides what they mean (for agentq: the agent, the session and the turn's
/// JSON result).
public struct Job: Sendable, Hashable {
    /// Insertion order; also the FIFO tie-breaker among jobs of equal priority.
    public var seq: Int64
    /// `job_` followed by a sortable unique identifier.
    public var id: String
    public var customID: String?
    public var batchID: String?
    /// Jobs sharing a lane run one at a time, in submission order. `nil`: no ordering constraint.
    public var lane: String?
    /// Names what runs the job.
    public var handler: String
    public var input: String
    /// JSON text supplied at submission, returned untouched.
    public var metadata: String?
    public var priority: Int
    public var runAt: Timestamp
    public var maxAttempts: Int
    /// Attempts started so far, the running one included.
    public var attempts: Int
    public var status: JobStatus
    public var cancelRequested: Bool
    /// JSON text the handler returned (or produced before failing).
    public var output: String?
    /// The last attempt's error.
    public var error: JobError?
    public var createdAt: Timestamp
    public var startedAt: Timestamp?
    public var finishedAt: Timestamp?
    public var workerID: String?
    /// Opaque JSON text for the handler's own per-job settings (agentq: a bulk line's spend
    /// caps); unlike `metadata`, never shown back to the user.
    public var options: String?
    /// Goes up by one with every change of state (claim, end, retry, rescue, cancel), so a
    /// delivery of an older state can be told from a newer one.
    public var version: Int64
    /// The only host whose workers may claim it (see ``NewJob/host``); `nil`: any.
    public var host: String?

    public init(
        seq: Int64, id: String, customID: String? = nil, batchID: String? = nil, lane: String? = nil,
        handler: String, input: String, metadata: String? = nil, priority: Int = 0, runAt: Timestamp,
        maxAttempts: Int, attempts: Int = 0, status: JobStatus = .queued, cancelRequested: Bool = false,
        output: String? = nil, error: JobError? = nil, createdAt: Timestamp, startedAt: Timestamp? = nil,
        finishedAt: Timestamp? = nil, workerID: String? = nil, options: String? = nil, version: Int64 = 0,
        host: String? = nil
    ) {
        self.seq = seq
        self.id = id
        self.customID = customID
        self.batchID = batchID
        self.lane = lane
        self.handler = handler
        self.input = input
        self.metadata = metadata
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.attempts = attempts
        self.status = status
        self.cancelRequested = cancelRequested
        self.output = output
        self.error = error
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.workerID = workerID
        self.options = options
        self.version = version
        self.host = host
    }
}
