/// The path items of ``OpenAPIDocument``: every endpoint of issue 8, by path template.
///
/// ```swift
/// let session = OpenAPIPaths.operations.first { $0.path == "/sessions/{id}" }
/// ```
enum OpenAPIPaths {
    typealias D = OpenAPIDocument

    static var sessionID: D.Schema { D.pathParameter("id", "The session ID") }
    static var jobID: D.Schema { D.pathParameter("id", "The job ID") }
    static var batchID: D.Schema { D.pathParameter("id", "The batch ID") }

    static func json(_ name: String, _ description: String) -> D.Schema { D.json(D.ref(name), description) }
    static func jsonArray(_ name: String, _ description: String) -> D.Schema { D.json(D.array(D.ref(name)), description) }

    /// `POST /sessions/{id}/<action>` → the session.
    static func sessionAction(_ action: String, _ summary: String) -> (String, D.Schema) {
        ("/sessions/{id}/\(action)", [
            "parameters": [sessionID],
            "post": D.operation("\(action)Session", summary, tag: "sessions", [200: json("Session", "The session")], errors: [404, 409]),
        ])
    }

    static var operations: [(String, D.Schema)] {
        [
            ("/healthz", ["get": D.operation(
                "health", "Whether the server and its database answer (no token needed)", tag: "operations",
                [200: json("Health", "Healthy")], authenticated: false)]),
            ("/metrics", ["get": D.operation(
                "metrics", "Prometheus metrics: jobs and sessions by status, claims, job and turn durations, provider requests, "
                    + "retries and 429s by endpoint, tokens and cost", tag: "operations",
                [200: ["description": "The Prometheus text format", "content": ["text/plain": ["schema": D.string]]]])]),
            ("/openapi.json", ["get": D.operation(
                "openapi", "This document", tag: "operations",
                [200: D.json(["type": "object"], "The OpenAPI 3.1 document")])]),
            ("/sessions", [
                "post": D.operation(
                    "createSession", "Create a session (agent_id is an alias of agent)", tag: "sessions",
                    body: D.jsonBody(D.ref("SessionCreate")), [201: json("Session", "The new session")],
                    errors: [400, 404, 409, 413, 422]),
                "get": D.operation(
                    "listSessions", "Sessions, most recently active first", tag: "sessions",
                    parameters: [D.query("agent", D.string, "Only this agent's"),
                                 D.query("status", D.oneOf(["active", "idle", "paused", "ended", "timeout", "error"]), "Only in this status")]
                        + D.pagination,
                    [200: jsonArray("Session", "A page of sessions")], errors: [400]),
            ]),
            ("/sessions/{id}", [
                "parameters": [sessionID],
                "get": D.operation("getSession", "A session", tag: "sessions", [200: json("Session", "The session")], errors: [404]),
                "put": D.operation(
                    "updateSession", "Change a session's title", tag: "sessions", body: D.jsonBody(D.ref("SessionUpdate")),
                    [200: json("Session", "The session")], errors: [400, 404, 413]),
                "delete": D.operation(
                    "endSession", "End a session: its workspace goes, its history stays", tag: "sessions",
                    [200: json("Session", "The ended session")], errors: [404]),
            ]),
            sessionAction("pause", "Pause: its turns wait in the queue"),
            sessionAction("resume", "Resume a paused session"),
            sessionAction("cancel", "Cancel the running turn"),
            ("/sessions/{id}/messages", [
                "parameters": [sessionID],
                "get": D.operation(
                    "listMessages", "The transcript, tool calls and results included", tag: "sessions",
                    [200: jsonArray("SessionMessage", "The messages in order")], errors: [404]),
            ]),
            ("/sessions/{id}/message", [
                "parameters": [sessionID],
                "post": D.operation(
                    "sendMessage", "Send a message and wait for the turn's result (the turn is a job in the queue)", tag: "sessions",
                    body: D.jsonBody(D.ref("MessageRequest")), [200: json("MessageResult", "The turn's result")],
                    errors: [400, 404, 409, 413, 422]),
            ]),
            ("/sessions/{id}/message/stream", [
                "parameters": [sessionID],
                "post": D.operation(
                    "streamMessage",
                    "Send a message and stream the turn: text_delta, tool_call, tool_result events, then done (or error)",
                    tag: "sessions",
                    parameters: [D.query("cancel_on_disconnect", D.boolean, "Cancel the turn's job when the client goes")],
                    body: D.jsonBody(D.ref("MessageRequest")),
                    [200: ["description": "Server-sent events", "content": ["text/event-stream": ["schema": D.string]]]],
                    errors: [400, 404, 409, 413, 422]),
            ]),
            ("/batches", [
                "post": D.operation(
                    "submitBatch", "Enqueue a JSONL file as a batch (the line format of agentq submit, OpenAI batch lines included)",
                    tag: "batches",
                    parameters: [D.query("agent", D.string, "The agent of lines that name none"),
                                 D.query("priority", D.integer, "Priority of lines that give none"),
                                 D.query("max_attempts", ["type": "integer", "minimum": 1], "Attempts per job"),
                                 D.query("skip_invalid", D.boolean, "Enqueue the valid lines and skip the others")],
                    body: ["required": true, "content": ["application/x-ndjson": ["schema": D.string]]],
                    [201: json("SubmitReport", "The batch")], errors: [400, 404, 413, 422]),
                "get": D.operation(
                    "listBatches", "Batches, newest first", tag: "batches", parameters: D.pagination,
                    [200: jsonArray("Batch", "Batches")], errors: [400]),
            ]),
            ("/batches/{id}", [
                "parameters": [batchID],
                "get": D.operation(
                    "getBatch", "A batch: counts per status, usage and cost", tag: "batches", [200: json("Batch", "The batch")],
                    errors: [404]),
            ]),
            ("/batches/{id}/results", [
                "parameters": [batchID],
                "get": D.operation(
                    "batchResults", "One result document per line, in input order, streamed", tag: "batches",
                    [200: ["description": "JSON lines, each a Job document",
                           "content": ["application/x-ndjson": ["schema": D.ref("Job")]]]],
                    errors: [404]),
            ]),
            ("/batches/{id}/cancel", [
                "parameters": [batchID],
                "post": D.operation(
                    "cancelBatch", "Cancel the batch's unfinished jobs", tag: "batches",
                    [200: json("BatchCancel", "How many queued jobs were cancelled and running ones asked to stop")],
                    errors: [404]),
            ]),
            ("/jobs", [
                "get": D.operation(
                    "listJobs", "Jobs, filtered", tag: "jobs",
                    parameters: [D.query("status", D.oneOf(["queued", "running", "succeeded", "failed", "cancelled"]), "Only in this status"),
                                 D.query("batch", D.string, "Only this batch's")] + D.pagination,
                    [200: jsonArray("Job", "A page of jobs")], errors: [400]),
            ]),
            ("/jobs/{id}", [
                "parameters": [jobID],
                "get": D.operation(
                    "getJob", "A job's result document, with every failed attempt's error", tag: "jobs",
                    [200: json("JobDetail", "The job")], errors: [404]),
            ]),
            ("/jobs/{id}/cancel", [
                "parameters": [jobID],
                "post": D.operation(
                    "cancelJob", "Cancel a queued or running job", tag: "jobs",
                    [200: json("JobCancel", "A queued job, cancelled"),
                     202: json("JobCancel", "A running job, asked to stop (within 2 s)")], errors: [404, 409]),
            ]),
            ("/jobs/{id}/retry", [
                "parameters": [jobID],
                "post": D.operation(
                    "retryJob", "Queue a failed or cancelled job again", tag: "jobs", [200: json("Job", "The job")],
                    errors: [404, 409]),
            ]),
            ("/agents", [
                "get": D.operation("listAgents", "Every agent", tag: "agents", [200: jsonArray("Agent", "The agents")]),
                "post": D.operation(
                    "addAgent", "Add (or replace) an agent definition", tag: "agents", body: D.jsonBody(D.ref("Agent")),
                    [201: json("Agent", "The agent")], errors: [400, 409, 413, 422]),
            ]),
            ("/agents/{name}", [
                "parameters": [D.pathParameter("name", "The agent's name")],
                "get": D.operation("getAgent", "An agent", tag: "agents", [200: json("Agent", "The agent")], errors: [404]),
                "delete": D.operation(
                    "deleteAgent", "Remove an agent", tag: "agents",
                    [200: json("Agent", "The removed agent"), 204: ["description": "Removed"]], errors: [404, 409]),
            ]),
        ]
    }

    /// The OpenAI Batch API, so its SDKs work with `base_url=http://host:2323/v1`.
    static var openAIOperations: [(String, D.Schema)] {
        let fileID = D.pathParameter("id", "The file ID")
        let openAIBatchID = D.pathParameter("id", "The batch ID")
        return [
            ("/v1/files", [
                "post": D.operation(
                    "uploadFile", "Upload a batch input file (multipart: file, purpose=batch)", tag: "openai",
                    body: ["required": true, "content": ["multipart/form-data": ["schema": D.object(
                        ["file": ["type": "string", "contentMediaType": "application/octet-stream"], "purpose": D.oneOf(["batch"])])]]],
                    [200: json("OpenAIFile", "The file object")], errors: [400, 413]),
            ]),
            ("/v1/files/{id}", [
                "parameters": [fileID],
                "get": D.operation("getFile", "A file object", tag: "openai", [200: json("OpenAIFile", "The file")], errors: [404]),
            ]),
            ("/v1/files/{id}/content", [
                "parameters": [fileID],
                "get": D.operation(
                    "fileContent", "A file's content: batch input, output or error lines", tag: "openai",
                    [200: ["description": "JSON lines", "content": ["application/jsonl": ["schema": ["type": "object"]]]]],
                    errors: [404]),
            ]),
            ("/v1/batches", [
                "post": D.operation(
                    "createOpenAIBatch", "Create a batch from an uploaded file", tag: "openai",
                    body: D.jsonBody(D.ref("OpenAIBatchCreate")), [200: json("OpenAIBatch", "The batch")],
                    errors: [400, 404, 413, 422]),
                "get": D.operation(
                    "listOpenAIBatches", "Batches, newest first", tag: "openai", parameters: D.pagination,
                    [200: json("OpenAIBatchList", "A page of batches")], errors: [400]),
            ]),
            ("/v1/batches/{id}", [
                "parameters": [openAIBatchID],
                "get": D.operation("getOpenAIBatch", "A batch", tag: "openai", [200: json("OpenAIBatch", "The batch")], errors: [404]),
            ]),
            ("/v1/batches/{id}/cancel", [
                "parameters": [openAIBatchID],
                "post": D.operation(
                    "cancelOpenAIBatch", "Cancel a batch", tag: "openai", [200: json("OpenAIBatch", "The batch, cancelling")],
                    errors: [404, 409]),
            ]),
        ]
    }
}
