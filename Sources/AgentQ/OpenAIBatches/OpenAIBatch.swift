import JobQueue

/// One batch of the OpenAI Batch API, run as an agentq batch of jobs.
///
/// ```swift
/// let batch = try service.create(inputFileID: file.id, endpoint: "/v1/chat/completions", completionWindow: "24h")
/// print(batch.jsonText)   // {"id":"batch_01jd…","object":"batch","status":"in_progress",…}
/// ```
public struct OpenAIBatch: Sendable, Hashable {
    public var id: String
    public var inputFileID: String
    public var endpoint: String
    public var completionWindow: String
    /// JSON text of the `metadata` object given at creation.
    public var metadata: String?
    /// The agent of lines whose `model` names none: `metadata.agent`, else the server's default.
    public var fallbackAgent: String?
    /// The agentq batch whose jobs run the lines; nil when no line could run.
    public var jobsBatchID: String?
    public var status: OpenAIBatchStatus
    /// Why the input file was refused (status `failed`).
    public var errors: [OpenAIBatchLineError]
    public var outputFileID: String?
    public var errorFileID: String?
    /// Request counts: `completed` succeeded, `failed` failed, were cancelled or found no agent.
    public var total = 0
    public var completed = 0
    public var failed = 0
    /// Lines that found no agent (`model_not_found`).
    public var rejected = 0
    public var createdAt: Timestamp
    public var inProgressAt: Timestamp?
    public var finalizingAt: Timestamp?
    public var completedAt: Timestamp?
    public var failedAt: Timestamp?
    public var cancellingAt: Timestamp?
    public var cancelledAt: Timestamp?
    public var expiresAt: Timestamp?

    public init(
        id: String, inputFileID: String, endpoint: String, completionWindow: String, metadata: String?,
        fallbackAgent: String?, jobsBatchID: String?, status: OpenAIBatchStatus, createdAt: Timestamp
    ) {
        self.id = id
        self.inputFileID = inputFileID
        self.endpoint = endpoint
        self.completionWindow = completionWindow
        self.metadata = metadata
        self.fallbackAgent = fallbackAgent
        self.jobsBatchID = jobsBatchID
        self.status = status
        self.errors = []
        self.createdAt = createdAt
    }

    /// The OpenAI batch object, times in Unix seconds.
    public var jsonText: String {
        func seconds(_ time: Timestamp?) -> String? { time.map { String($0.milliseconds / 1000) } }
        var json = JSONText()
        json.object { object in
            object.field("id", id)
            object.field("object", "batch")
            object.field("endpoint", endpoint)
            if errors.isEmpty {
                object.field("errors", raw: nil)
            } else {
                object.field("errors") { list in
                    list.field("object", "list")
                    list.field("data", raw: OpenAIBatchLineError.jsonList(errors))
                }
            }
            object.field("input_file_id", inputFileID)
            object.field("completion_window", completionWindow)
            object.field("status", status.rawValue)
            object.field("output_file_id", outputFileID)
            object.field("error_file_id", errorFileID)
            object.field("created_at", raw: seconds(createdAt))
            object.field("in_progress_at", raw: seconds(inProgressAt))
            object.field("expires_at", raw: seconds(expiresAt))
            object.field("finalizing_at", raw: seconds(finalizingAt))
            object.field("completed_at", raw: seconds(completedAt))
            object.field("failed_at", raw: seconds(failedAt))
            object.field("expired_at", raw: nil)
            object.field("cancelling_at", raw: seconds(cancellingAt))
            object.field("cancelled_at", raw: seconds(cancelledAt))
            object.field("request_counts") { counts in
                counts.field("total", total)
                counts.field("completed", completed)
                counts.field("failed", failed)
            }
            object.field("metadata", raw: metadata)
        }
        return json.text
    }
}
