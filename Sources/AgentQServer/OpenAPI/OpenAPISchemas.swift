/// The component schemas of ``OpenAPIDocument``: one per JSON document the API sends or takes,
/// written from the encoders that make them.
///
/// ```swift
/// let session = OpenAPISchemas.all["Session"]
/// ```
enum OpenAPISchemas {
    typealias D = OpenAPIDocument

    static var all: [String: D.Schema] {
        [
            "Error": D.object(
                ["error": D.object(["type": D.string, "message": D.string])], closed: true),
            "Health": D.object(["status": D.oneOf(["ok"])]),
            "Usage": usage,
            "ToolCall": D.object(
                ["id": D.string, "name": D.string, "arguments": D.string, "result": D.string, "duration_ms": D.integer,
                 "is_error": D.boolean], closed: true),
            "SessionCreate": D.object(
                ["agent": D.string, "agent_id": D.string, "title": D.string, "session_id": D.string, "work_dir": D.string],
                required: []),
            "SessionUpdate": D.object(["title": D.nullable("string")]),
            "MessageRequest": D.object(["message": D.string]),
            "Session": session,
            "SessionMessage": sessionMessage,
            "MessageResult": D.object(
                ["response": D.nullable("string"), "tool_calls": D.array(D.ref("ToolCall")), "usage": D.ref("Usage"),
                 "steps": D.integer, "job_id": D.string, "session_id": D.string, "status": D.string,
                 "error": ["type": ["object", "null"], "properties": ["type": D.string, "message": D.string]]],
                required: ["response", "tool_calls", "usage", "steps", "job_id", "status"]),
            "JobCancel": D.object(
                ["job_id": D.string, "outcome": D.oneOf(["cancelled", "cancel_requested", "already_finished", "not_found"]),
                 "status": D.nullable("string")], closed: true),
            "BatchCancel": D.object(["batch_id": D.string, "cancelled": D.integer, "cancel_requested": D.integer], closed: true),
            "Job": job(attemptErrors: false),
            "JobDetail": job(attemptErrors: true),
            "Batch": batch,
            "SubmitReport": D.object(["batch_id": D.string, "jobs": D.integer, "skipped": D.integer], closed: true),
            "Agent": agent,
            "OpenAIFile": D.object(
                ["id": D.string, "object": D.oneOf(["file"]), "bytes": D.integer, "created_at": D.integer,
                 "filename": D.string, "purpose": D.string, "status": D.string, "expires_at": D.nullable("integer")],
                required: ["id", "object", "bytes", "created_at", "filename", "purpose"]),
            "OpenAIBatchCreate": D.object(
                ["input_file_id": D.string, "endpoint": D.oneOf(["/v1/chat/completions"]), "completion_window": D.string,
                 "metadata": ["type": ["object", "null"], "additionalProperties": D.string]],
                required: ["input_file_id", "endpoint", "completion_window"]),
            "OpenAIBatch": openAIBatch,
            "OpenAIBatchList": D.object(
                ["object": D.oneOf(["list"]), "data": D.array(D.ref("OpenAIBatch")), "first_id": D.nullable("string"),
                 "last_id": D.nullable("string"), "has_more": D.boolean],
                required: ["object", "data", "has_more"]),
        ]
    }

    /// `TokenUsage.jsonText`.
    static var usage: D.Schema {
        D.object(
        ["input_tokens": D.integer, "output_tokens": D.integer, "cached_input_tokens": D.integer,
         "cache_write_tokens": D.integer, "reasoning_tokens": D.integer, "cost_usd": D.number], closed: true)
    }

    /// `SessionDocument.json(for:messages:)`.
    static var session: D.Schema {
        var schema = D.object(
            ["session_id": D.string, "agent": D.string, "title": D.nullable("string"),
             "status": D.oneOf(["active", "idle", "paused", "ended", "timeout", "error"]), "workdir": D.string,
             "created_at": D.timestamp, "last_active_at": D.timestamp, "message_count": D.integer,
             // The host whose workspace holds the session (many hosts on one PostgreSQL database).
             "host": D.string,
             "messages": D.array(D.ref("SessionMessage"))])
        schema["required"] = ["session_id", "agent", "title", "status", "workdir", "created_at", "last_active_at", "message_count"]
        return schema
    }

    /// `SessionDocument.json(for: SessionMessage)`.
    static var sessionMessage: D.Schema {
        D.object(
        ["seq": D.integer, "job_id": D.nullable("string"), "role": D.oneOf(["system", "user", "assistant", "tool"]),
         "content": D.string,
         "tool_calls": D.array(D.object(["id": D.string, "name": D.string, "arguments": D.string], closed: true)),
         "tool_call_id": D.nullable("string"), "tool_name": D.nullable("string"), "is_error": D.boolean,
         "duration_ms": D.nullable("integer"),
         "usage": D.object(["input_tokens": D.integer, "output_tokens": D.integer], closed: true),
         "created_at": D.timestamp],
        required: ["seq", "job_id", "role", "content", "created_at"], closed: true)
    }

    /// `ResultDocument.json(for:)`, and with `attempt_errors` `JobDocument.json(for:attempts:)`.
    static func job(attemptErrors: Bool) -> D.Schema {
        var properties: [String: D.Schema] = [
            "job_id": D.string, "custom_id": D.nullable("string"), "batch_id": D.nullable("string"),
            "session": D.nullable("string"), "agent": D.string,
            "status": D.oneOf(["queued", "running", "succeeded", "failed", "cancelled"]),
            "response": D.nullable("string"), "tool_calls": D.array(D.ref("ToolCall")), "usage": D.ref("Usage"),
            "steps": D.integer, "attempts": D.integer, "max_attempts": D.integer,
            "error": D.orNull(D.object(["type": D.string, "message": D.string], closed: true)),
            "priority": D.integer, "metadata": [String: Any](), "created_at": D.timestamp,
            "started_at": D.nullable("string", format: "date-time"), "finished_at": D.nullable("string", format: "date-time"),
            "version": D.integer,
        ]
        if attemptErrors {
            properties["attempt_errors"] = D.array(D.object(
                ["attempt": D.integer, "type": D.string, "message": D.string, "at": D.timestamp], closed: true))
        }
        return D.object(properties)
    }

    /// `BatchDocument.json(for:usage:)`.
    static var batch: D.Schema {
        var schema = D.object(
            ["batch_id": D.string, "status": D.string,
             "counts": D.object(
                ["total": D.integer, "queued": D.integer, "running": D.integer, "succeeded": D.integer, "failed": D.integer,
                 "cancelled": D.integer], closed: true),
             "source": D.nullable("string"), "created_at": D.timestamp, "usage": D.ref("Usage")],
            closed: true)
        schema["required"] = ["batch_id", "status", "counts", "source", "created_at"]
        return schema
    }

    /// `AgentDefinition.jsonText()`; also the body of `POST /agents`, which rejects unknown fields.
    static var agent: D.Schema {
        D.object(
        ["name": D.string, "provider": D.string, "model": D.string, "system_prompt": D.string, "tools": D.array(D.string),
         "max_steps": D.integer, "options": ["type": "object"], "sandbox": D.oneOf(["bubblewrap", "none"]),
         "network": D.boolean, "idle_timeout_seconds": D.integer, "base_url": D.string, "api_key_env": D.string,
         "max_tokens": D.integer, "temperature": D.number, "stream": D.boolean, "timeout": D.number, "rpm": D.integer,
         "tpm": D.integer, "stream_idle_timeout": D.number, "input_cost_per_million": D.number,
         "output_cost_per_million": D.number, "max_cost_usd": D.number, "max_tokens_total": D.integer],
        required: ["name", "provider"], closed: true)
    }

    /// OpenAI's batch object.
    static var openAIBatch: D.Schema {
        D.object(
        ["id": D.string, "object": D.oneOf(["batch"]), "endpoint": D.string, "errors": ["type": ["object", "null"]],
         "input_file_id": D.string, "completion_window": D.string,
         "status": D.oneOf(["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"]),
         "output_file_id": D.nullable("string"), "error_file_id": D.nullable("string"), "created_at": D.integer,
         "in_progress_at": D.nullable("integer"), "expires_at": D.nullable("integer"), "finalizing_at": D.nullable("integer"),
         "completed_at": D.nullable("integer"), "failed_at": D.nullable("integer"), "expired_at": D.nullable("integer"),
         "cancelling_at": D.nullable("integer"), "cancelled_at": D.nullable("integer"),
         "request_counts": D.object(["total": D.integer, "completed": D.integer, "failed": D.integer]),
         "metadata": ["type": ["object", "null"]]],
        required: ["id", "object", "endpoint", "input_file_id", "completion_window", "status", "created_at", "request_counts"])
    }
}
