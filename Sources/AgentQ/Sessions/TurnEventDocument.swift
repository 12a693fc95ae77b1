import JobQueue

/// The server-sent events of a streamed turn (`POST /sessions/{id}/message/stream`): each
/// ``TurnEvent`` as an event name and its JSON data, the same for a turn run in this process
/// (live) and one read back from the store (see ``StoredTurnEvents``).
///
/// | event | data |
/// |---|---|
/// | `text_delta` | `{"type":"text_delta","text":"…"}` |
/// | `tool_call` | `{"type":"tool_call","id","name","arguments"}` |
/// | `tool_result` | `{"type":"tool_result","id","name","result","is_error","duration_ms"}` |
/// | `retry` | `{"type":"retry","reason"}`: drop the text received since the last `tool_call`/`tool_result` (or the start) |
/// | `paused` | `{"type":"paused","job_id","message"}`: the session is paused; the turn waits in the queue |
/// | `done` | `{"type":"done","response","tool_calls","usage","steps","job_id"}` |
/// | `error` | `{"type":"<error type>","message","job_id"}` |
///
/// ```swift
/// if let (name, data) = TurnEventDocument.event(.textDelta("Hi"), jobID: jobID) { send(name, data) }
/// ```
public enum TurnEventDocument {
    /// The event a client is sent for `event`; nil for the ones it is not (`stepFinished`).
    public static func event(_ event: TurnEvent, jobID: String) -> (name: String, data: String)? {
        var json = JSONText()
        switch event {
        case .textDelta(let text):
            json.object { $0.field("type", "text_delta"); $0.field("text", text) }
            return ("text_delta", json.text)
        case .streamRestarted:
            return retry(reason: "the model call is being retried; the text it streamed is discarded")
        case .toolCallStarted(let call):
            json.object {
                $0.field("type", "tool_call")
                $0.field("id", call.id)
                $0.field("name", call.name)
                $0.field("arguments", call.arguments)
            }
            return ("tool_call", json.text)
        case .toolCallFinished(let record):
            json.object {
                $0.field("type", "tool_result")
                $0.field("id", record.id)
                $0.field("name", record.name)
                $0.field("result", record.resultSummary)
                $0.field("is_error", raw: record.isError ? "true" : "false")
                $0.field("duration_ms", record.durationMilliseconds)
            }
            return ("tool_result", json.text)
        case .stepFinished:
            return nil
        case .done(let result):
            return done(result, jobID: jobID)
        case .error(let type, let message):
            return error(type: type, message: message, jobID: jobID)
        }
    }

    /// `done`: the turn's result.
    public static func done(_ result: TurnResult, jobID: String) -> (name: String, data: String) {
        var json = JSONText()
        json.object {
            $0.field("type", "done")
            $0.field("response", result.response)
            $0.field("tool_calls", raw: "[" + result.toolCalls.map(\.jsonText).joined(separator: ",") + "]")
            $0.field("usage", raw: result.usage.jsonText)
            $0.field("steps", result.steps)
            $0.field("job_id", jobID)
        }
        return ("done", json.text)
    }

    /// `error`: the turn failed or was cancelled; `type` is the error's type.
    public static func error(type: String, message: String, jobID: String?) -> (name: String, data: String) {
        var json = JSONText()
        json.object {
            $0.field("type", type)
            $0.field("message", message)
            $0.field("job_id", jobID)
        }
        return ("error", json.text)
    }

    /// `retry`: text streamed since the last step is void.
    public static func retry(reason: String) -> (name: String, data: String) {
        var json = JSONText()
        json.object { $0.field("type", "retry"); $0.field("reason", reason) }
        return ("retry", json.text)
    }

    /// `paused`: the turn waits in the queue until the session is resumed.
    public static func paused(jobID: String, sessionID: String) -> (name: String, data: String) {
        var json = JSONText()
        json.object {
            $0.field("type", "paused")
            $0.field("job_id", jobID)
            $0.field("message", "session \(sessionID) is paused; the turn waits in the queue until it is resumed")
        }
        return ("paused", json.text)
    }
}
