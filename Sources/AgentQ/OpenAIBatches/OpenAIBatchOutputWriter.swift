import Foundation
import JobQueue

/// Writes an OpenAI batch's output file (one line per succeeded request, a `chat.completion`
/// in OpenAI's batch output format) and its error file (failed, cancelled and
/// `model_not_found` lines), reading the jobs a page at a time.
///
/// The file IDs follow from the batch's ID, so writing twice (two processes, or a finalizer
/// that died half-way) replaces the same files with the same content.
///
/// ```swift
/// let written = try OpenAIBatchOutputWriter(jobs: queue.store, files: files).write(batch, rejected: rejected)
/// print(written.outputFileID ?? "no output")
/// ```
public struct OpenAIBatchOutputWriter: Sendable {
    public struct Written: Sendable {
        public var outputFileID: String?
        public var errorFileID: String?
        public var completed: Int
        public var failed: Int
    }

    public let jobs: any JobStore
    public let files: OpenAIFileStore

    public init(jobs: any JobStore, files: OpenAIFileStore) {
        self.jobs = jobs
        self.files = files
    }

    /// - throws: ``AgentQError`` `.io` when a file cannot be written, or a ``JobQueue/StoreError``.
    public func write(_ batch: OpenAIBatch, rejected: [OpenAIRejectedLine]) throws -> Written {
        let output = try StagedFile(url: files.makeTemporaryURL())
        let errors = try StagedFile(url: files.makeTemporaryURL())
        defer {
            output.discard()
            errors.discard()
        }
        var written = Written(completed: 0, failed: 0)
        for line in rejected {
            try errors.append(line: Self.rejectedLine(line, batchID: batch.id))
            written.failed += 1
        }
        if let jobsBatchID = batch.jobsBatchID {
            var afterSeq: Int64?
            while true {
                let page = try jobs.jobs(matching: JobFilter(batchID: jobsBatchID, afterSeq: afterSeq, limit: 500))
                for job in page {
                    if job.status == .succeeded {
                        try output.append(line: Self.outputLine(job))
                        written.completed += 1
                    } else {
                        try errors.append(line: Self.errorLine(job))
                        written.failed += 1
                    }
                }
                guard page.count == 500, let last = page.last else { break }
                afterSeq = last.seq
            }
        }
        let suffix = batch.id.hasPrefix("batch_") ? String(batch.id.dropFirst(6)) : batch.id
        if written.completed > 0 {
            try output.close()
            written.outputFileID = try files.add(
                temporaryFile: output.url, id: "file-\(suffix)-output", filename: "\(batch.id)_output.jsonl",
                purpose: "batch_output"
            ).id
        }
        if written.failed > 0 {
            try errors.close()
            written.errorFileID = try files.add(
                temporaryFile: errors.url, id: "file-\(suffix)-errors", filename: "\(batch.id)_errors.jsonl",
                purpose: "batch_output"
            ).id
        }
        return written
    }

    /// `{"id", "custom_id", "response": {"status_code": 200, "request_id", "body": <chat.completion>}, "error": null}`
    static func outputLine(_ job: Job) -> String {
        let suffix = Self.suffix(job.id)
        let result = job.output.flatMap(TurnResult.init(jsonText:)) ?? TurnResult(response: nil)
        let model = job.metadata.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["model"]
            as? String ?? job.handler
        var json = JSONText()
        json.object { line in
            line.field("id", "batch_req_\(suffix)")
            line.field("custom_id", job.customID)
            line.field("response") { response in
                response.field("status_code", 200)
                response.field("request_id", "req_\(suffix)")
                response.field("body") { body in
                    body.field("id", "chatcmpl-\(suffix)")
                    body.field("object", "chat.completion")
                    body.field("created", Int((job.finishedAt ?? job.createdAt).milliseconds / 1000))
                    body.field("model", model)
                    var message = JSONText()
                    message.object {
                        $0.field("index", 0)
                        $0.field("message") { message in
                            message.field("role", "assistant")
                            message.field("content", result.response ?? "")
                            message.field("refusal", raw: nil)
                        }
                        $0.field("logprobs", raw: nil)
                        $0.field("finish_reason", "stop")
                    }
                    body.field("choices", raw: "[" + message.text + "]")
                    body.field("usage") { usage in
                        usage.field("prompt_tokens", result.usage.inputTokens)
                        usage.field("completion_tokens", result.usage.outputTokens)
                        usage.field("total_tokens", result.usage.inputTokens + result.usage.outputTokens)
                    }
                    body.field("system_fingerprint", raw: nil)
                }
            }
            line.field("error", raw: nil)
        }
        return json.text
    }

    /// `{"id", "custom_id", "response": null, "error": {"code", "message"}}` for a job that failed or was cancelled.
    static func errorLine(_ job: Job) -> String {
        let (code, message): (String, String)
        switch (job.status, job.error) {
        case (.cancelled, _): (code, message) = ("batch_cancelled", "the batch was cancelled before this request finished")
        case (_, let error?): (code, message) = (error.type, error.message)
        default: (code, message) = ("failed", "the request failed")
        }
        var json = JSONText()
        json.object { line in
            line.field("id", "batch_req_\(Self.suffix(job.id))")
            line.field("custom_id", job.customID)
            line.field("response", raw: nil)
            line.field("error") {
                $0.field("code", code)
                $0.field("message", message)
            }
        }
        return json.text
    }

    /// A `model_not_found` line: the response OpenAI would give (404) and the error.
    static func rejectedLine(_ line: OpenAIRejectedLine, batchID: String) -> String {
        let message = "no agent named '\(line.model ?? "")', and the batch has no metadata.agent and the server no --default-agent"
        var json = JSONText()
        json.object { object in
            object.field("id", "batch_req_\(suffix(batchID))_\(line.line)")
            object.field("custom_id", line.customID)
            object.field("response") { response in
                response.field("status_code", 404)
                response.field("request_id", "req_\(suffix(batchID))_\(line.line)")
                response.field("body") { body in
                    body.field("error") {
                        $0.field("message", message)
                        $0.field("type", "invalid_request_error")
                        $0.field("param", "model")
                        $0.field("code", "model_not_found")
                    }
                }
            }
            object.field("error") {
                $0.field("code", "model_not_found")
                $0.field("message", message)
            }
        }
        return json.text
    }

    private static func suffix(_ id: String) -> String {
        guard let underscore = id.firstIndex(of: "_") else { return id }
        return String(id[id.index(after: underscore)...])
    }
}
