import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Result files")
struct ResultWriterTests {
    static let created = Timestamp(milliseconds: 1_795_273_200_123)   // 2026-11-21T15:00:00.123Z
    static let started = Timestamp(milliseconds: 1_795_273_201_004)   // 2026-11-21T15:00:01.004Z
    static let finished = Timestamp(milliseconds: 1_795_273_262_500)  // 2026-11-21T15:01:02.500Z

    static func succeededJob() -> Job {
        let output = TurnResult(
            response: "echo: hello world",
            toolCalls: [
                ToolCallRecord(id: "call_1", name: "search", arguments: #"{"q":"swift"}"#, resultSummary: "3 hits",
                               durationMilliseconds: 12, isError: false),
                ToolCallRecord(id: "call_2", name: "read", arguments: "{}", resultSummary: "no such file",
                               durationMilliseconds: 1, isError: true),
            ],
            usage: TokenUsage(inputTokens: 12, outputTokens: 34), steps: 3
        ).jsonText
        return Job(
            seq: 42, id: "job_01jdq3v4y8k2m5n7p9r1s3t5v7", customID: "req-7", batchID: "bat_01jdq3v4y8k2m5n7p9r1s3t5aa",
            lane: "chat-1", handler: "writer", input: "hello world", metadata: #"{"team":"a","n":[1,2]}"#, priority: 5,
            runAt: created, maxAttempts: 3, attempts: 2, status: .succeeded, output: output,
            error: JobError(type: "flaky", message: "from an earlier attempt"), createdAt: created,
            startedAt: started, finishedAt: finished, workerID: nil)
    }

    static func read(_ directory: TemporaryDirectory, _ id: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.url.appendingPathComponent("\(id).json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every file but the writers' lock file (temporary files included: none may be left).
    static func allFiles(_ directory: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0 != ".lock" }.sorted()
    }

    @Test("a succeeded job's file has every field")
    func succeeded() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let job = Self.succeededJob()
        try ResultWriter(directory: directory.url).deliver([job])

        #expect(try Self.allFiles(directory) == ["\(job.id).json"])
        let raw = try String(contentsOf: directory.url.appendingPathComponent("\(job.id).json"), encoding: .utf8)
        #expect(raw.hasSuffix("}\n"))
        let object = try Self.read(directory, job.id)
        #expect(object["job_id"] as? String == job.id)
        #expect(object["custom_id"] as? String == "req-7")
        #expect(object["batch_id"] as? String == "bat_01jdq3v4y8k2m5n7p9r1s3t5aa")
        #expect(object["session"] as? String == "chat-1")
        #expect(object["agent"] as? String == "writer")
        #expect(object["status"] as? String == "succeeded")
        #expect(object["response"] as? String == "echo: hello world")
        let toolCalls = try #require(object["tool_calls"] as? [[String: Any]])
        #expect(toolCalls.map { $0["name"] as? String } == ["search", "read"])
        // Arguments stay the text the model wrote (it may not even be valid JSON).
        #expect(toolCalls.first?["arguments"] as? String == #"{"q":"swift"}"#)
        #expect(toolCalls.first?["result"] as? String == "3 hits")
        #expect(toolCalls.first?["duration_ms"] as? Int == 12)
        #expect(toolCalls.last?["is_error"] as? Bool == true)
        let usage = try #require(object["usage"] as? [String: Any])
        #expect(usage["input_tokens"] as? Int == 12)
        #expect(usage["output_tokens"] as? Int == 34)
        #expect(object["steps"] as? Int == 3)
        #expect(object["attempts"] as? Int == 2)
        #expect(object["max_attempts"] as? Int == 3)
        #expect(object["priority"] as? Int == 5)
        // A succeeded job reports no error, even if an earlier attempt left one.
        #expect(object.keys.contains("error"))
        #expect(object["error"] is NSNull)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["team"] as? String == "a")
        #expect(metadata["n"] as? [Int] == [1, 2])
        #expect(object["created_at"] as? String == "2026-11-21T15:00:00.123Z")
        #expect(object["started_at"] as? String == "2026-11-21T15:00:01.004Z")
        #expect(object["finished_at"] as? String == "2026-11-21T15:01:02.500Z")
        #expect(Set(object.keys) == [
            "job_id", "custom_id", "batch_id", "session", "agent", "status", "response", "tool_calls", "usage",
            "steps", "attempts", "max_attempts", "error", "priority", "metadata", "created_at", "started_at",
            "finished_at", "version",
        ])
    }

    @Test("a failed job's file has error {type, message} and empty output fields")
    func failed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var job = Self.succeededJob()
        job.status = .failed
        job.output = nil
        job.customID = nil
        job.lane = nil
        job.metadata = nil
        job.error = JobError(type: "invalid_request", message: "echo: failing permanently")
        try ResultWriter(directory: directory.url).write(job)

        let object = try Self.read(directory, job.id)
        #expect(object["status"] as? String == "failed")
        let error = try #require(object["error"] as? [String: Any])
        #expect(error["type"] as? String == "invalid_request")
        #expect(error["message"] as? String == "echo: failing permanently")
        #expect(Set(error.keys) == ["type", "message"])
        #expect(object["response"] is NSNull)
        #expect((object["tool_calls"] as? [Any])?.isEmpty == true)
        let usage = try #require(object["usage"] as? [String: Any])
        #expect(usage["input_tokens"] as? Int == 0)
        #expect(usage["output_tokens"] as? Int == 0)
        #expect(object["steps"] as? Int == 0)
        #expect(object["custom_id"] is NSNull)
        #expect(object["session"] is NSNull)
        #expect(object["metadata"] is NSNull)
        #expect(try Self.allFiles(directory) == ["\(job.id).json"])
    }

    @Test("a job that never started has null start and finish times")
    func neverStarted() throws {
        var job = Self.succeededJob()
        job.status = .cancelled
        job.output = nil
        job.attempts = 0
        job.startedAt = nil
        job.finishedAt = Self.finished
        job.error = JobError(type: "cancelled", message: "cancelled before it started")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(ResultDocument.json(for: job).utf8)) as? [String: Any])
        #expect(object["status"] as? String == "cancelled")
        #expect(object["started_at"] is NSNull)
        #expect(object["finished_at"] as? String == "2026-11-21T15:01:02.500Z")
        #expect((object["error"] as? [String: Any])?["type"] as? String == "cancelled")
        #expect(object["attempts"] as? Int == 0)
    }

    @Test("quotes, backslashes, newlines, unicode and control characters round-trip exactly")
    func escaping() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var controls = ""
        for value in 1..<0x20 { controls.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        let tricky = [
            "she said \"hi\" \\o/",
            "line one\nline two\r\nthird\tcolumn",
            "héllo wörld — 世界 🚀👩‍👩‍👧 \u{2028}\u{2029} \u{7F}",
            "controls: \(controls) end",
            "nul: \u{0} after",
            "slashes / and </script>",
            "",
        ]
        let writer = ResultWriter(directory: directory.url)
        for (index, text) in tricky.enumerated() {
            var job = Self.succeededJob()
            job.id = "job_tricky_\(index)"
            job.customID = text
            job.lane = text + "|lane"
            job.handler = text + "|agent"
            job.output = TurnResult(response: text, usage: TokenUsage(inputTokens: 1, outputTokens: 2), steps: 1).jsonText
            try writer.write(job)
            let object = try Self.read(directory, job.id)
            #expect(object["custom_id"] as? String == text, "custom_id of case \(index)")
            #expect(object["session"] as? String == text + "|lane", "session of case \(index)")
            #expect(object["agent"] as? String == text + "|agent", "agent of case \(index)")
            #expect(object["response"] as? String == text, "response of case \(index)")

            var failed = job
            failed.id = "job_tricky_failed_\(index)"
            failed.status = .failed
            failed.error = JobError(type: "t\"\(index)", message: text)
            try writer.write(failed)
            let error = try #require(try Self.read(directory, failed.id)["error"] as? [String: Any])
            #expect(error["type"] as? String == "t\"\(index)")
            #expect(error["message"] as? String == text, "error message of case \(index)")
        }
        // Only final files: no temporary file left behind.
        let files = try Self.allFiles(directory)
        #expect(files.count == tricky.count * 2)
        #expect(files.allSatisfy { $0.hasPrefix("job_") && $0.hasSuffix(".json") })
    }

    @Test("a turn's output text: its fields in a fixed order, strings escaped, and it reads back the same")
    func turnOutputText() throws {
        let result = TurnResult(
            response: "say \"hi\"\n\\ é🚀", toolCalls: [],
            usage: TokenUsage(inputTokens: 1, outputTokens: 2, cachedInputTokens: 3, cacheWriteTokens: 4, reasoningTokens: 5,
                              costUSD: 0.25),
            steps: 2)
        #expect(result.jsonText == #"{"response":"say \"hi\"\n\\ é🚀","tool_calls":[],"usage":{"input_tokens":1,"output_tokens":2,"cached_input_tokens":3,"cache_write_tokens":4,"reasoning_tokens":5,"cost_usd":0.250000},"steps":2}"#)
        #expect(TurnResult(jsonText: result.jsonText) == result)
        #expect(TurnResult(response: nil).jsonText
            == #"{"response":null,"tool_calls":[],"usage":{"input_tokens":0,"output_tokens":0,"cached_input_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"cost_usd":0.000000},"steps":0}"#)
    }

    @Test("JSONText.quoted escapes exactly what JSON needs")
    func quoted() throws {
        #expect(JSONText.quoted("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
        #expect(JSONText.quoted("é🚀") == "\"é🚀\"")
    }

    @Test("writing again replaces the file; remove deletes it")
    func replaceAndRemove() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = ResultWriter(directory: directory.url)
        var job = Self.succeededJob()
        job.status = .failed
        job.error = JobError(type: "first", message: "m")
        try writer.write(job)
        job.status = .succeeded
        try writer.write(job)
        #expect(try Self.read(directory, job.id)["status"] as? String == "succeeded")
        #expect(try Self.allFiles(directory) == ["\(job.id).json"])
        writer.remove(jobID: job.id)
        #expect(try Self.allFiles(directory).isEmpty)
    }

    @Test("a missing directory is an io error naming the path, and leaves nothing behind")
    func missingDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let missing = directory.url.appendingPathComponent("nope", isDirectory: true)
        do {
            try ResultWriter(directory: missing).write(Self.succeededJob())
            Issue.record("writing into a missing directory should fail")
        } catch let error as AgentQError {
            #expect(error.code == .io)
            #expect(error.message.contains(missing.path))
        }
        #expect(try Self.allFiles(directory).isEmpty)
    }
}
