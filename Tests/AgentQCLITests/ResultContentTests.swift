import AgentQTesting
import Foundation
import Testing

/// What result files and `--json` outputs contain: every field, escaped text, defaults, order.
@Suite struct ResultContentTests {
    @Test func awkwardInputsRoundTripExactly() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let inputs = [
            #"he said "hi" \o/"#,
            "two\nlines\tand a tab\r\nand CRLF",
            "emoji 👋🏽 and 日本語 and é",
            "control \u{01}\u{1F} bytes",
            "slash / and backslash \\ and unicode escape \\u0041",
        ]
        let lines = inputs.enumerated().map { ["custom_id": "k\($0.offset)", "input": $0.element] as [String: Any] }
        let (batchID, _) = try cli.submit(try cli.write(try jsonLines(lines), to: "awkward.jsonl"))
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)

        let jobs = try cli.jobs(batch: batchID)
        #expect(jobs.map { $0["response"] as? String } == inputs.map { "echo: " + $0 })
        for job in jobs {
            let id = try #require(job["job_id"] as? String)
            let result = try cli.result(jobID: id)
            #expect(result["response"] as? String == job["response"] as? String)
        }
        let printed = try parseJSONLines(try cli.runOK(["batch", "results", batchID]))
        #expect(printed.map { $0["response"] as? String } == inputs.map { "echo: " + $0 })
    }

    @Test func everyFieldOfALineReachesTheResult() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [
                #"{"custom_id": "full", "input": "one two three", "session": "s1", "priority": 5, "max_attempts": 2, "metadata": {"team": "docs", "n": 1}}"#,
                #"{"input": "defaults only"}"#,
            ].joined(separator: "\r\n") + "\r\n", to: "fields.jsonl")
        let (batchID, _) = try cli.submit(file, ["--priority", "2", "--max-attempts", "7"])
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)
        let ids = try cli.jobIDs(batch: batchID)
        try #require(ids.count == 2)

        let full = try cli.result(jobID: ids[0])
        #expect(full["job_id"] as? String == ids[0])
        #expect(ids[0].hasPrefix("job_"))
        #expect(full["custom_id"] as? String == "full")
        #expect(full["batch_id"] as? String == batchID)
        #expect(full["session"] as? String == "s1")
        #expect(full["agent"] as? String == "echo")
        #expect(full["status"] as? String == "succeeded")
        #expect(full["response"] as? String == "echo: one two three")
        #expect((full["tool_calls"] as? [Any])?.isEmpty == true)
        let usage = try #require(full["usage"] as? [String: Any])
        #expect(usage["input_tokens"] as? Int == 3)
        #expect(usage["output_tokens"] as? Int == 4)
        #expect(full["steps"] as? Int == 1)
        #expect(full["attempts"] as? Int == 1)
        #expect(full["max_attempts"] as? Int == 2)
        #expect(full["error"] is NSNull)
        #expect(full["priority"] as? Int == 5)
        let metadata = try #require(full["metadata"] as? [String: Any])
        #expect(metadata["team"] as? String == "docs")
        #expect(metadata["n"] as? Int == 1)
        for field in ["created_at", "started_at", "finished_at"] {
            let text = try #require(full[field] as? String, "\(field)")
            #expect(ISO8601DateFormatter.withFraction.date(from: text) != nil, "\(field): \(text)")
        }

        let defaults = try cli.result(jobID: ids[1])
        #expect(defaults["custom_id"] is NSNull)
        #expect(defaults["session"] is NSNull)
        #expect(defaults["metadata"] is NSNull)
        #expect(defaults["priority"] as? Int == 2)
        #expect(defaults["max_attempts"] as? Int == 7)
        #expect(defaults["response"] as? String == "echo: defaults only")
    }

    @Test func openAIBatchLinesUseTheLastUserMessage() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = packageRoot().appendingPathComponent("jobs/examples/openai-batch.jsonl").path
        let (batchID, jobs) = try cli.submit(file)
        #expect(jobs == 2)
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)
        let results = try parseJSONLines(try cli.runOK(["batch", "results", batchID]))
        #expect(results.map { $0["custom_id"] as? String } == ["request-1", "request-2"])
        #expect(results.map { $0["response"] as? String } == ["echo: Hello world!", "echo: Name three colours."])

        let unsupported = try cli.write(
            #"{"custom_id": "e", "method": "POST", "url": "/v1/embeddings", "body": {"model": "m", "input": "x"}}"# + "\n",
            to: "embeddings.jsonl")
        let rejected = try cli.run(["submit", unsupported])
        #expect(rejected.exitCode == 1)
        #expect(rejected.stderr.contains("\(unsupported):1:") && rejected.stderr.contains("/v1/embeddings"), "stderr: \(rejected.stderr)")
    }

    @Test func higherPriorityRunsFirstButASessionKeepsItsOrder() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [
                #"{"custom_id": "low", "input": "a", "priority": 0}"#,
                #"{"custom_id": "high", "input": "b", "priority": 5}"#,
                #"{"custom_id": "first-of-session", "input": "c", "session": "s", "priority": 1}"#,
                #"{"custom_id": "second-of-session", "input": "d", "session": "s", "priority": 9}"#,
            ].joined(separator: "\n") + "\n", to: "order.jsonl")
        let (batchID, _) = try cli.submit(file)

        func succeeded() throws -> [String] {
            try cli.jobs(batch: batchID).filter { $0["status"] as? String == "succeeded" }.compactMap { $0["custom_id"] as? String }
        }
        // second-of-session has the highest priority, but waits for the earlier job of its session.
        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try succeeded() == ["high"])
        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try succeeded() == ["high", "first-of-session"])
        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try succeeded() == ["high", "first-of-session", "second-of-session"])
        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try succeeded().count == 4)
    }

    @Test func jobsOfOneSessionNeverOverlap() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name": "paced", "provider": "echo", "model": "echo", "options": {"latency_ms": 150}}"#)
        let lines = (0..<4).map { ["custom_id": "t\($0)", "input": "turn \($0)", "session": "conversation"] as [String: Any] }
        let (batchID, _) = try cli.submit(try cli.write(try jsonLines(lines), to: "session.jsonl"), ["--agent", "paced"])
        let drain = try cli.run(["worker", "--drain", "--concurrency", "4"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

        let jobs = try cli.jobs(batch: batchID)
        #expect(jobs.map { $0["custom_id"] as? String } == ["t0", "t1", "t2", "t3"])
        #expect(jobs.allSatisfy { $0["status"] as? String == "succeeded" })
        func time(_ job: [String: Any], _ field: String) throws -> Date {
            try #require((job[field] as? String).flatMap(ISO8601DateFormatter.withFraction.date(from:)), "\(field)")
        }
        for (earlier, later) in zip(jobs, jobs.dropFirst()) {
            #expect(
                try time(later, "started_at") >= time(earlier, "finished_at"),
                "\(later["custom_id"] ?? "?") started before \(earlier["custom_id"] ?? "?") finished")
        }
    }

    @Test func aJobScheduledForLaterIsNotClaimedBeforeItsTime() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let later = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        let file = try cli.write(
            #"{"custom_id": "later", "input": "tomorrow", "run_at": "\#(later)"}"# + "\n"
                + #"{"custom_id": "now", "input": "today", "run_at": 1000000000}"# + "\n",
            to: "scheduled.jsonl")
        let (batchID, _) = try cli.submit(file)
        let ids = try cli.jobIDs(batch: batchID)
        try #require(ids.count == 2)

        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try cli.run(["worker", "--once"]).exitCode == 0)
        #expect(try cli.status(ofJob: ids[0]) == "queued")
        #expect(try cli.status(ofJob: ids[1]) == "succeeded")
        let get = try cli.runOK(["jobs", "get", ids[0]])
        #expect(get.contains("run at:"), "stdout: \(get)")

        let bad = try cli.write(#"{"input": "x", "run_at": "next tuesday"}"# + "\n", to: "bad-time.jsonl")
        let rejected = try cli.run(["submit", bad])
        #expect(rejected.exitCode == 1)
        #expect(rejected.stderr.contains("\(bad):1:") && rejected.stderr.contains("run_at"), "stderr: \(rejected.stderr)")
    }

    @Test func humanReadableOutputsNameTheJobAndBatch() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let (batchID, _) = try cli.submit(try cli.write(#"{"custom_id": "h", "input": "hi"}"# + "\n", to: "h.jsonl"))
        let jobID = try #require(try cli.jobIDs(batch: batchID).first)
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)

        let get = try cli.runOK(["jobs", "get", jobID])
        #expect(get.contains(jobID) && get.contains("succeeded") && get.contains("custom_id:  h"), "stdout: \(get)")
        #expect(get.contains(cli.resultsDirectory + "/\(jobID).json"), "stdout: \(get)")
        let list = try cli.runOK(["jobs", "list"])
        #expect(list.contains(jobID) && list.contains("1/3"), "stdout: \(list)")
        let status = try cli.runOK(["batch", "status", batchID])
        #expect(status.contains(batchID) && status.contains("completed") && status.contains("succeeded:  1"), "stdout: \(status)")
        let batches = try cli.runOK(["batch", "list"])
        #expect(batches.contains(batchID), "stdout: \(batches)")
    }

    @Test func batchResultsOutputIntoAMissingDirectoryFails() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let (batchID, _) = try cli.submit(try cli.write(#"{"input": "hi"}"# + "\n", to: "h.jsonl"))
        let target = cli.files + "/no/such/dir/out.jsonl"
        let output = try cli.run(["batch", "results", batchID, "--output", target])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains(target), "stderr: \(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}

extension ISO8601DateFormatter {
    static var withFraction: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
