import JobQueue

/// The JSON object that describes a batch, for `agentq batch … --json` and every other
/// output about batches, so the field names are the same everywhere.
///
/// ```swift
/// let text = BatchDocument.json(for: batch, usage: usage)
/// // {"batch_id":"bat_…","status":"running","counts":{"total":3,…},"source":"prompts.jsonl","created_at":"…","usage":{…}}
/// ```
public enum BatchDocument {
    /// - parameter usage: tokens and cost summed over the batch's jobs; left out when nil.
    public static func json(for batch: Batch, usage: TokenUsage? = nil) -> String {
        var text = JSONText()
        text.object { object in
            object.field("batch_id", batch.id)
            object.field("status", batch.status)
            object.field("counts") { counts in
                counts.field("total", batch.counts.total)
                counts.field("queued", batch.counts.queued)
                counts.field("running", batch.counts.running)
                counts.field("succeeded", batch.counts.succeeded)
                counts.field("failed", batch.counts.failed)
                counts.field("cancelled", batch.counts.cancelled)
            }
            object.field("source", batch.source)
            object.field("created_at", batch.createdAt.iso8601)
            if let usage { object.field("usage", raw: usage.jsonText) }
        }
        return text.text
    }
}
