import JobQueue

/// The JSON objects of `agentq sessions … --json`: a session, and its transcript messages.
///
/// ```swift
/// print(SessionDocument.json(for: session, messages: messages))
/// ```
public enum SessionDocument {
    /// `{"session_id", "agent", "title", "status", "workdir", "created_at", "last_active_at", "message_count"}`,
    /// plus `"host"` when the session has one and `"messages"` when given.
    public static func json(for session: SessionRecord, messages: [SessionMessage]? = nil, extra: [(String, String)] = []) -> String {
        var json = JSONText()
        json.object { object in
            object.field("session_id", session.id)
            object.field("agent", session.agent)
            object.field("title", session.title)
            object.field("status", session.status.rawValue)
            object.field("workdir", session.workdir)
            object.field("created_at", session.createdAt.iso8601)
            object.field("last_active_at", session.lastActiveAt.iso8601)
            object.field("message_count", session.messageCount)
            if let host = session.host { object.field("host", host) }
            if let messages {
                object.field("messages", raw: "[" + messages.map(json(for:)).joined(separator: ",") + "]")
            }
            for (name, raw) in extra { object.field(name, raw: raw) }
        }
        return json.text
    }

    /// One transcript message, tool calls and results included.
    public static func json(for entry: SessionMessage) -> String {
        var json = JSONText()
        json.object { object in
            object.field("seq", entry.seq)
            object.field("job_id", entry.jobID)
            object.field("role", entry.message.role.rawValue)
            object.field("content", entry.message.content)
            if !entry.message.toolCalls.isEmpty {
                let calls = entry.message.toolCalls.map { call -> String in
                    var text = JSONText()
                    text.object {
                        $0.field("id", call.id)
                        $0.field("name", call.name)
                        $0.field("arguments", call.arguments)
                    }
                    return text.text
                }
                object.field("tool_calls", raw: "[" + calls.joined(separator: ",") + "]")
            }
            if entry.message.role == .tool {
                object.field("tool_call_id", entry.message.toolCallID)
                object.field("tool_name", entry.message.toolName)
                object.field("is_error", raw: entry.message.isError ? "true" : "false")
                object.field("duration_ms", raw: entry.durationMilliseconds.map(String.init) ?? "null")
            }
            if entry.message.role == .assistant {
                object.field("usage") {
                    $0.field("input_tokens", entry.usage.inputTokens)
                    $0.field("output_tokens", entry.usage.outputTokens)
                }
            }
            object.field("created_at", entry.createdAt.iso8601)
        }
        return json.text
    }
}
