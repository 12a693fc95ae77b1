import JobQueue

/// The JSON objects of `agentq schedules … --json`.
///
/// ```swift
/// print(ScheduleDocument.json(for: schedule, lastBatch: try queue.store.batch(id: id)))
/// ```
public enum ScheduleDocument {
    /// `{"name", "kind", "spec", "timezone", "agent", "session", "priority", "max_attempts", "overlap",
    /// "paused", "prompts", "next_run_at", "last_run_at", "last_batch_id", "last_batch_status", "created_at"}`,
    /// plus `"runs"` (newest first) when given. `prompts` is `{"input"}` or `{"file", "lines"}`.
    public static func json(for schedule: Schedule, lastBatch: Batch?, runs: [ScheduleRun]? = nil) -> String {
        var json = JSONText()
        json.object { object in
            object.field("name", schedule.name)
            object.field("kind", schedule.spec.kind)
            object.field("spec", schedule.spec.text)
            object.field("timezone", schedule.timeZone)
            object.field("agent", schedule.agent)
            object.field("session", schedule.session)
            object.field("priority", schedule.priority)
            object.field("max_attempts", schedule.maxAttempts)
            object.field("overlap", schedule.overlap.rawValue)
            object.field("paused", raw: schedule.paused ? "true" : "false")
            object.field("prompts") { prompts in
                switch schedule.prompts {
                case .input(let text):
                    prompts.field("input", text)
                case .file(let name, let content):
                    prompts.field("file", name)
                    prompts.field("lines", content.split(whereSeparator: \.isNewline).count)
                }
            }
            object.field("next_run_at", schedule.nextRunAt.iso8601)
            object.field("last_run_at", schedule.lastRunAt?.iso8601)
            object.field("last_batch_id", schedule.lastBatchID)
            object.field("last_batch_status", lastBatch?.status)
            object.field("created_at", schedule.createdAt.iso8601)
            if let runs { object.field("runs", raw: "[" + runs.map(json(for:)).joined(separator: ",") + "]") }
        }
        return json.text
    }

    /// `{"tick_at", "outcome", "batch_id", "message", "at"}`.
    public static func json(for run: ScheduleRun) -> String {
        var json = JSONText()
        json.object { object in
            object.field("tick_at", run.tickAt?.iso8601)
            object.field("outcome", run.outcome.rawValue)
            object.field("batch_id", run.batchID)
            object.field("message", run.message)
            object.field("at", run.at.iso8601)
        }
        return json.text
    }
}
