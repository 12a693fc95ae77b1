/// Turns the messages a turn stored into the ``TurnEvent``s a live observer would have seen:
/// how a turn run by another process (an `agentq worker`) is followed, step by step, from the
/// session's history.
///
/// Feed it each new batch of the turn's messages in order; it remembers each call's
/// arguments until its result arrives.
///
/// ```swift
/// var stored = StoredTurnEvents()
/// let events = stored.events(from: try sessions.messages(sessionID: id, afterSeq: seen).filter { $0.jobID == jobID })
/// ```
public struct StoredTurnEvents: Sendable {
    private var arguments: [String: String] = [:]

    public init() {}

    /// An assistant message gives its text, then a `toolCallStarted` per call; a tool message
    /// gives `toolCallFinished`; the user's message gives nothing.
    public mutating func events(from messages: [SessionMessage]) -> [TurnEvent] {
        var events: [TurnEvent] = []
        for entry in messages {
            let message = entry.message
            switch message.role {
            case .assistant:
                if !message.content.isEmpty { events.append(.textDelta(message.content)) }
                for call in message.toolCalls {
                    arguments[call.id] = call.arguments
                    events.append(.toolCallStarted(call))
                }
            case .tool:
                let id = message.toolCallID ?? ""
                events.append(.toolCallFinished(ToolCallRecord(
                    id: id, name: message.toolName ?? "", arguments: arguments.removeValue(forKey: id) ?? "",
                    resultSummary: ToolCallRecord.summary(of: message.content),
                    durationMilliseconds: entry.durationMilliseconds ?? 0, isError: message.isError)))
            default:
                continue
            }
        }
        return events
    }
}
