import JobQueue

/// The JSON answer of `POST /sessions/{id}/message`: the turn's job as a reply.
///
/// `{"response", "tool_calls", "usage", "steps", "job_id", "session_id", "status"}`, plus
/// `"error": {"type", "message"}` when the turn failed or was cancelled. `status` is the job's:
/// `succeeded`, `failed`, `cancelled`, or `queued` for a turn waiting on a paused session.
/// A failed turn keeps what it did (its tool calls, the tokens it spent) beside its error.
///
/// ```swift
/// let body = TurnReplyDocument.json(for: job, sessionID: session.id)
/// ```
public enum TurnReplyDocument {
    public static func json(for job: Job, sessionID: String) -> String {
        let result = job.output.flatMap(TurnResult.init(jsonText:)) ?? TurnResult(response: nil)
        var json = JSONText()
        json.object { object in
            object.field("response", job.status == .succeeded ? result.response : nil)
            object.field("tool_calls", raw: "[" + result.toolCalls.map(\.jsonText).joined(separator: ",") + "]")
            object.field("usage", raw: result.usage.jsonText)
            object.field("steps", result.steps)
            object.field("job_id", job.id)
            object.field("session_id", sessionID)
            object.field("status", job.status.rawValue)
            if job.status == .failed || job.status == .cancelled {
                let error = job.error ?? JobError(type: job.status.rawValue, message: "the turn was \(job.status.rawValue)")
                object.field("error") {
                    $0.field("type", error.type)
                    $0.field("message", error.message)
                }
            }
        }
        return json.text
    }
}
