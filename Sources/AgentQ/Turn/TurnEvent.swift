/// Something that happened during a turn, in order, for ``Session/runStream(_:)``.
public enum TurnEvent: Sendable, Hashable {
    /// Text of the answer as it arrives.
    case textDelta(String)
    /// A model call is being retried: drop the text received since the step began.
    case streamRestarted
    case toolCallStarted(ToolCall)
    case toolCallFinished(ToolCallRecord)
    /// A model call finished (1-based step number).
    case stepFinished(step: Int, usage: TokenUsage)
    case done(TurnResult)
    case error(type: String, message: String)
}
