import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Submitting bulk files")
struct SubmitterTests {
    static func submit(_ test: TestQueue, _ text: String, options: SubmitOptions = SubmitOptions(source: "in.jsonl"))
        throws -> SubmitReport
    {
        try Submitter(store: test.store, agents: test.queue.agents).submit(Data(text.utf8), options: options)
    }

    /// Runs `body`, which must throw ``SubmitRejected``, and returns the error.
    static func rejected(_ body: () throws -> SubmitReport) throws -> SubmitRejected {
        do {
            let report = try body()
            Issue.record("expected SubmitRejected, got a report of \(report.jobs) job(s)")
            throw CancellationError()
        } catch let error as SubmitRejected {
            return error
        }
    }

    @Test("every line becomes a job of one batch, fields mapped, in file order")
    func enqueuesAll() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(name: "writer", provider: "echo", model: "echo"))
        let text = """
            {"custom_id":"a","input":"first","priority":3,"session":"s1","max_attempts":5,"metadata":{"k":"v"}}
            {"input":"second","agent":"writer","run_at":"2026-11-21T15:00:00Z"}
            {"custom_id":"c","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"third"}]}}
            """
        let report = try Self.submit(test, text, options: SubmitOptions(
            source: "in.jsonl", defaultAgent: "echo", defaultPriority: 1, defaultMaxAttempts: 2))
        #expect(report.jobs == 3)
        #expect(report.skipped.isEmpty)
        #expect(report.batchID.hasPrefix("bat_"))

        let batch = try #require(try test.store.batch(id: report.batchID))
        #expect(batch.source == "in.jsonl")
        #expect(batch.counts.queued == 3)

        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.map(\.input) == ["first", "second", "third"])
        #expect(jobs.map(\.customID) == ["a", nil, "c"])
        #expect(jobs.map(\.handler) == ["echo", "writer", "echo"])
        #expect(jobs.map(\.lane) == ["s1", nil, nil])
        #expect(jobs.map(\.priority) == [3, 1, 1])
        #expect(jobs.map(\.maxAttempts) == [5, 2, 2])
        #expect(jobs.map(\.metadata) == [#"{"k":"v"}"#, nil, nil])
        #expect(jobs[1].runAt == Timestamp(milliseconds: 1_795_273_200_000))
        #expect(jobs.allSatisfy { $0.status == .queued && $0.attempts == 0 && $0.batchID == report.batchID })
    }

    @Test("one malformed line rejects the whole file and enqueues nothing")
    func oneBadLineRejectsAll() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let text = """
            {"input":"one"}
            {"input":"two"}

            {"input": "three",
            {"input":"four"}
            {"input":""}
            """
        let error = try Self.rejected { try Self.submit(test, text) }
        #expect(error.invalidLines.map(\.line) == [4, 6])
        #expect(error.invalidLines.map(\.reason) == ["not valid JSON", "\"input\" is empty"])
        #expect(error.invalidLines.allSatisfy { $0.source == "in.jsonl" })
        #expect(error.fileProblem == nil)
        #expect(error.description == "in.jsonl:4: not valid JSON\nin.jsonl:6: \"input\" is empty")
        #expect(try test.store.counts(batchID: nil).total == 0)
        #expect(try test.store.batches(limit: 10).isEmpty)
    }

    @Test("invalid UTF-8 on one line rejects the file with that line's number")
    func invalidUTF8Line() throws {
        let test = try TestQueue()
        defer { test.remove() }
        var data = Data("{\"input\":\"ok\"}\n".utf8)
        data.append(contentsOf: [0x7B, 0x22, 0x69, 0x6E, 0x70, 0x75, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D, 0x0A])
        data.append(contentsOf: Data("{\"input\":\"ok too\"}\n".utf8))
        let error = try Self.rejected {
            try Submitter(store: test.store, agents: test.queue.agents).submit(data, options: SubmitOptions(source: "u.jsonl"))
        }
        #expect(error.invalidLines.map(\.description) == ["u.jsonl:2: invalid UTF-8"])
        #expect(try test.store.counts(batchID: nil).total == 0)
    }

    @Test("with skipInvalid the good lines are enqueued and the bad ones listed")
    func skipInvalid() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let text = """
            {"input":"one"}
            not json
            {"input":"three","priority":true}

            {"input":"five"}
            {"input":"six","agent":"ghost"}
            """
        let report = try Self.submit(test, text, options: SubmitOptions(source: "s.jsonl", skipInvalid: true))
        #expect(report.jobs == 2)
        #expect(report.skipped.map(\.line) == [2, 3, 6])
        #expect(report.skipped[0].reason == "not valid JSON")
        #expect(report.skipped[1].reason == "\"priority\" must be a whole number")
        #expect(report.skipped[2].reason.contains("unknown agent 'ghost'"))
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.map(\.input) == ["one", "five"])
        #expect(try test.store.counts(batchID: nil).total == 2)
    }

    @Test("skipInvalid with no good line enqueues nothing")
    func skipInvalidAllBad() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let error = try Self.rejected {
            try Self.submit(test, "nope\n{\"x\":1}\n", options: SubmitOptions(source: "b.jsonl", skipInvalid: true))
        }
        #expect(error.invalidLines.map(\.line) == [1, 2])
        #expect(error.fileProblem?.contains("b.jsonl") == true)
        #expect(try test.store.counts(batchID: nil).total == 0)
    }

    @Test("an unknown agent rejects the file, naming the line")
    func unknownAgent() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let text = """
            {"input":"a"}

            {"input":"b","agent":"nobody"}
            {"input":"c","agent":"nobody"}
            """
        let error = try Self.rejected { try Self.submit(test, text) }
        #expect(error.invalidLines.map(\.line) == [3, 4])
        #expect(error.invalidLines.allSatisfy { $0.reason.contains("unknown agent 'nobody'") })
        #expect(try test.store.counts(batchID: nil).total == 0)

        // The default agent is checked too.
        let viaDefault = try Self.rejected {
            try Self.submit(test, "{\"input\":\"a\"}\n", options: SubmitOptions(source: "d.jsonl", defaultAgent: "missing"))
        }
        #expect(viaDefault.invalidLines.map(\.description) == [
            "d.jsonl:1: unknown agent 'missing' (add it with: agentq agents add FILE.json)"
        ])
        #expect(try test.store.counts(batchID: nil).total == 0)
    }

    @Test("blank lines, CRLF endings and no final newline are fine; line numbers count blank lines")
    func lineEndings() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let text = "\r\n{\"input\":\"a\"}\r\n\r\n{\"input\":\"b\"}\r\n  \n{\"input\":\"c\"}"
        let report = try Self.submit(test, text)
        #expect(report.jobs == 3)
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.map(\.input) == ["a", "b", "c"])

        let bad = "\r\n{\"input\":\"a\"}\r\n\r\n{\"input\":\"\"}\r\n  \n{\"input\":\"c\""
        let error = try Self.rejected { try Self.submit(test, bad, options: SubmitOptions(source: "crlf.jsonl")) }
        #expect(error.invalidLines.map(\.description) == [
            "crlf.jsonl:4: \"input\" is empty", "crlf.jsonl:6: not valid JSON",
        ])
        #expect(try test.store.counts(batchID: nil).total == 3)
    }

    @Test("an empty file is rejected as a whole")
    func emptyFile() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let error = try Self.rejected { try Self.submit(test, "\n\n") }
        #expect(error.invalidLines.isEmpty)
        #expect(error.fileProblem?.contains("in.jsonl") == true)
        #expect(try test.store.counts(batchID: nil).total == 0)
    }

    @Test("AgentQueue.submit goes through the same checks")
    func throughFacade() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let report = try test.queue.submit(
            Data("{\"input\":\"x\"}\n{\"input\":\"y\"}\n".utf8), options: SubmitOptions(source: "f.jsonl"))
        #expect(report.jobs == 2)
        #expect(try test.store.counts(batchID: report.batchID).queued == 2)
        #expect(throws: SubmitRejected.self) {
            try test.queue.submit(Data("{\"input\":1}\n".utf8), options: SubmitOptions(source: "g.jsonl"))
        }
        #expect(try test.store.counts(batchID: nil).total == 2)
    }
}

@Suite("Per-line spend caps")
struct PerLineSpendCapTests {
    @Test("a line's own caps reach its job in a column of their own, not in its metadata")
    func capsStayOutOfMetadata() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let lines = """
            {"custom_id": "a", "input": "x", "max_cost_usd": 0.25, "max_tokens_total": 900, "metadata": {"team": "docs"}}
            {"custom_id": "b", "input": "y", "max_tokens_total": 2}
            """
        let report = try test.queue.submit(Data(lines.utf8), options: SubmitOptions(source: "caps.jsonl"))
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.count == 2)
        // The metadata is the user's, byte for byte; the caps sit beside it.
        #expect(jobs.map(\.metadata) == [#"{"team": "docs"}"#, nil])
        let options = try #require(jobs.first?.options)
        #expect(options.contains("0.25") && options.contains("900"))
        let first = try #require(try JSONSerialization.jsonObject(with: Data(ResultDocument.json(for: jobs[0]).utf8)) as? [String: Any])
        #expect((first["metadata"] as? [String: Any])?.keys.sorted() == ["team"])
        let second = try #require(try JSONSerialization.jsonObject(with: Data(ResultDocument.json(for: jobs[1]).utf8)) as? [String: Any])
        #expect(second["metadata"] is NSNull)
        // Echo counts words: 1 in ("y") + 2 out ("echo: y") = 3 tokens, over a cap of 2.
        try test.queue.makeWorker(WorkerOptions(mode: .drain, concurrency: 1)).run()
        let capped = try #require(try test.store.job(id: jobs[1].id))
        #expect(capped.status == .failed)
        #expect(capped.error?.type == "budget_exceeded")
        #expect(try test.store.job(id: jobs[0].id)?.status == .succeeded)
    }
    @Test("each line gets its own caps' text when lines alternate between caps, none and -0")
    func capsFollowEachLine() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let lines = """
            {"input": "a", "max_cost_usd": 0.25}
            {"input": "b", "max_cost_usd": 0.25}
            {"input": "c"}
            {"input": "d", "max_cost_usd": 0}
            {"input": "e", "max_cost_usd": -0}
            {"input": "f", "max_cost_usd": 0.25, "max_tokens_total": 5}
            {"input": "g", "max_tokens_total": 5}
            {"input": "h", "max_cost_usd": 0.25}
            """
        let report = try test.queue.submit(Data(lines.utf8), options: SubmitOptions(source: "caps.jsonl"))
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        func expected(_ cost: Double?, _ tokens: Int?) throws -> String? {
            var object: [String: Any] = [:]
            if let cost { object["max_cost_usd"] = cost }
            if let tokens { object["max_tokens_total"] = tokens }
            guard !object.isEmpty else { return nil }
            return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        #expect(try jobs.map(\.options) == [
            expected(0.25, nil), expected(0.25, nil), nil, expected(0, nil), expected(-0.0, nil),
            expected(0.25, 5), expected(nil, 5), expected(0.25, nil),
        ])
    }
}
