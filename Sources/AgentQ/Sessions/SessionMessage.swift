import JobQueue

/// One persisted message of a session's transcript.
///
/// Every model response and every tool result is stored as it completes, tagged with the
/// turn's job, so a turn that is retried or rescued continues from its last completed step.
public struct SessionMessage: Sendable, Hashable {
    public var seq: Int
    /// The turn (job) that produced it.
    public var jobID: String?
    public var message: ChatMessage
    /// For assistant messages: the tokens of the model call that produced it.
    public var usage: TokenUsage
    /// For tool results: how long the tool ran.
    public var durationMilliseconds: Int?
    public var createdAt: Timestamp

    public init(
        seq: Int = 0, jobID: String?, message: ChatMessage, usage: TokenUsage = TokenUsage(),
        durationMilliseconds: Int? = nil, createdAt: Timestamp = .now
    ) {
        self.seq = seq
        self.jobID = jobID
        self.message = message
        self.usage = usage
        self.durationMilliseconds = durationMilliseconds
        self.createdAt = createdAt
    }
}
