import JobQueue

/// The JSON object of `agentq jobs get --json`: the job's result document (see
/// ``ResultDocument``) plus `attempt_errors`, every failed attempt's error in order.
///
/// ```swift
/// let text = JobDocument.json(for: job, attempts: try queue.store.attempts(ofJob: job.id))
/// // {"job_id":"job_…",…,"version":3,"attempt_errors":[{"attempt":1,"type":"…","message":"…","at":"…"}]}
/// ```
public enum JobDocument {
    public static func json(for job: Job, attempts: [AttemptRecord]) -> String {
        var document = ResultDocument.json(for: job)
        document.removeLast()   // the closing brace: attempt_errors joins the same object
        document += ",\"attempt_errors\":["
        document += attempts.map { record in
            var text = JSONText()
            text.object {
                $0.field("attempt", record.attempt)
                $0.field("type", record.error.type)
                $0.field("message", record.error.message)
                $0.field("at", record.at.iso8601)
            }
            return text.text
        }.joined(separator: ",")
        return document + "]}"
    }
}
