import JobQueue

/// The JSON objects that say what a cancel did, for `--json` output and the HTTP API.
///
/// ```swift
/// let text = CancelDocument.json(forBatch: id, outcomes: try queue.cancel(.batch(id)))
/// // {"batch_id":"bat_…","cancelled":12,"cancel_requested":3}
/// ```
public enum CancelDocument {
    /// `{"job_id", "outcome", "status"}`: `outcome` is `cancelled` (it was queued),
    /// `cancel_requested` (it is running and stops within 2 s), `already_finished` or `not_found`.
    public static func json(for outcome: CancelOutcome) -> String {
        var text = JSONText()
        text.object {
            $0.field("job_id", outcome.id)
            $0.field("outcome", outcome.effect.rawValue)
            $0.field("status", outcome.status?.rawValue)
        }
        return text.text
    }

    /// `{"batch_id", "cancelled", "cancel_requested"}`: how many queued jobs were cancelled, and
    /// how many running ones were asked to stop (finished jobs are left alone).
    public static func json(forBatch batchID: String, outcomes: [CancelOutcome]) -> String {
        var text = JSONText()
        text.object {
            $0.field("batch_id", batchID)
            $0.field("cancelled", outcomes.filter { $0.effect == .cancelled }.count)
            $0.field("cancel_requested", outcomes.filter { $0.effect == .cancelRequested }.count)
        }
        return text.text
    }
}
