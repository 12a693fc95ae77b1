import Foundation
import JobQueue

/// The messages a turn works with: the session's earlier turns, and this turn's own
/// messages, each persisted as soon as it is appended (or kept in memory for a job that
/// has no session). One turn uses it at a time, from one task, whose steps may run on
/// different threads in turn: hence `@unchecked Sendable`.
final class TurnTranscript: @unchecked Sendable {
    let sessionID: String?
    let jobID: String
    private let store: (any SessionStore)?
    /// Earlier turns, made valid to send: every tool call answered.
    private(set) var history: [ChatMessage]
    private(set) var turn: [SessionMessage]

    init(sessionID: String?, jobID: String, store: (any SessionStore)?) throws {
        self.sessionID = sessionID
        self.jobID = jobID
        self.store = store
        if let sessionID, let store {
            let all = try store.messages(sessionID: sessionID, last: nil)
            history = Self.answeringOpenCalls(all.filter { $0.jobID != jobID }.map(\.message))
            turn = all.filter { $0.jobID == jobID }
        } else {
            history = []
            turn = []
        }
    }

    /// Whether appends write to the session store (and so block).
    var isStored: Bool { sessionID != nil && store != nil }

    func append(_ message: ChatMessage, usage: TokenUsage = TokenUsage(), durationMilliseconds: Int? = nil) throws {
        var entry = SessionMessage(jobID: jobID, message: message, usage: usage, durationMilliseconds: durationMilliseconds)
        if let sessionID, let store { entry = try store.append(entry, sessionID: sessionID) }
        turn.append(entry)
    }

    /// The last assistant message's tool calls that have no result yet.
    var unansweredCalls: [ToolCall] {
        guard let index = turn.lastIndex(where: { $0.message.role == .assistant }) else { return [] }
        let answered = Set(turn[(index + 1)...].compactMap(\.message.toolCallID))
        return turn[index].message.toolCalls.filter { !answered.contains($0.id) }
    }

    /// The final answer, when the turn has one.
    var finalAnswer: String? {
        guard let last = turn.last, last.message.role == .assistant, last.message.toolCalls.isEmpty else { return nil }
        return last.message.content
    }

    var steps: Int { turn.filter { $0.message.role == .assistant }.count }

    var usage: TokenUsage { turn.reduce(TokenUsage()) { $0 + $1.usage } }

    var toolCallRecords: [ToolCallRecord] {
        var calls: [String: ToolCall] = [:]
        var records: [ToolCallRecord] = []
        for entry in turn {
            for call in entry.message.toolCalls { calls[call.id] = call }
            if entry.message.role == .tool, let id = entry.message.toolCallID {
                let call = calls[id]
                records.append(ToolCallRecord(
                    id: id, name: call?.name ?? entry.message.toolName ?? "", arguments: call?.arguments ?? "",
                    resultSummary: ToolCallRecord.summary(of: entry.message.content),
                    durationMilliseconds: entry.durationMilliseconds ?? 0, isError: entry.message.isError))
            }
        }
        return records
    }

    /// Gives every unanswered tool call of earlier turns a result, so the history stays a
    /// valid conversation for any provider.
    static func answeringOpenCalls(_ messages: [ChatMessage]) -> [ChatMessage] {
        var result: [ChatMessage] = []
        var open: [ToolCall] = []
        func close() {
            for call in open {
                result.append(ChatMessage(
                    role: .tool, content: "not run: the turn ended before this call", toolCallID: call.id,
                    toolName: call.name, isError: true))
            }
            open = []
        }
        for message in messages {
            if message.role == .tool, let id = message.toolCallID {
                open.removeAll { $0.id == id }
            } else {
                close()
            }
            result.append(message)
            if message.role == .assistant { open = message.toolCalls }
        }
        close()
        return result
    }
}
