import AgentQ
import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

@Suite("End to end through AgentQueue")
struct EndToEndTests {
    static func lines(_ count: Int) -> String {
        (1...count).map { #"{"custom_id":"c\#($0)","input":"prompt number \#($0) \"quoted\" ünïcode"}"# }
            .joined(separator: "\n") + "\n"
    }

    static func drain(_ test: TestQueue, concurrency: Int = 4) throws -> WorkerSummary {
        try test.queue.makeWorker(WorkerOptions(mode: .drain, concurrency: concurrency)).run()
    }

    static func allFiles(_ test: TestQueue) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: test.home.resultsDirectory.path).filter { $0 != ".lock" }.sorted()
    }

    @Test("300 lines submitted and drained give 300 result files echoing their input")
    func submitAndDrain() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let report = try test.queue.submit(Data(Self.lines(300).utf8), options: SubmitOptions(source: "bulk.jsonl"))
        #expect(report.jobs == 300)

        let summary = try Self.drain(test)
        #expect(summary.succeeded == 300)
        #expect(summary.failed == 0)

        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.count == 300)
        let files = try test.resultFiles()
        #expect(files.count == 300)
        #expect(Set(files) == Set(jobs.map { "\($0.id).json" }))
        // Nothing else in results/: no temporary file left.
        #expect(try Self.allFiles(test) == files)

        var seenCustomIDs: Set<String> = []
        for job in jobs {
            let result = try test.result(jobID: job.id)
            let number = try #require((result["custom_id"] as? String)?.dropFirst())
            seenCustomIDs.insert("c\(number)")
            #expect(result["job_id"] as? String == job.id)
            #expect(result["batch_id"] as? String == report.batchID)
            #expect(result["status"] as? String == "succeeded")
            #expect(result["agent"] as? String == "echo")
            #expect(result["response"] as? String == "echo: prompt number \(number) \"quoted\" ünïcode")
            #expect(result["response"] as? String == "echo: " + job.input)
            #expect(result["attempts"] as? Int == 1)
            #expect(result["error"] is NSNull)
            #expect((result["usage"] as? [String: Any])?["input_tokens"] as? Int == 5)
            #expect((result["usage"] as? [String: Any])?["output_tokens"] as? Int == 6)
        }
        #expect(seenCustomIDs == Set((1...300).map { "c\($0)" }))
        let batch = try #require(try test.store.batch(id: report.batchID))
        #expect(batch.counts.succeeded == 300)
        #expect(batch.status == "completed")
        #expect(try test.store.undeliveredJobs(limit: 1000).isEmpty)
    }

    @Test("crash recovery: a new worker re-creates exactly the missing result files")
    func crashRecovery() throws {
        let test = try TestQueue()
        defer { test.remove() }
        _ = try test.queue.submit(Data(Self.lines(60).utf8), options: SubmitOptions(source: "bulk.jsonl"))
        _ = try Self.drain(test)
        let files = try test.resultFiles()
        #expect(files.count == 60)
        var contents: [String: Data] = [:]
        for file in files {
            contents[file] = try Data(contentsOf: test.home.resultsDirectory.appendingPathComponent(file))
        }

        // Lose every third file, and forget that any result was delivered, as after a crash.
        let lost = files.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        #expect(lost.count == 20)
        for file in lost {
            try FileManager.default.removeItem(at: test.home.resultsDirectory.appendingPathComponent(file))
        }
        try test.queue.sqliteDatabase!.pool.write { db in try db.execute(sql: "UPDATE jobs SET delivery_pending = 1") }
        #expect(try test.store.undeliveredJobs(limit: 1000).count == 60)
        #expect(try test.resultFiles().count == 40)

        let summary = try Self.drain(test)
        #expect(summary.succeeded == 0)   // nothing ran again
        #expect(try test.resultFiles() == files)
        #expect(try Self.allFiles(test) == files)
        for file in files {
            let now = try Data(contentsOf: test.home.resultsDirectory.appendingPathComponent(file))
            #expect(now == contents[file], "\(file) differs after recovery")
        }
        #expect(try test.store.undeliveredJobs(limit: 1000).isEmpty)
        #expect(try test.store.counts(batchID: nil).succeeded == 60)
    }

    @Test("cancelling a queued job writes its result file at once")
    func cancelWritesResult() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let report = try test.queue.submit(
            Data("{\"input\":\"a\"}\n{\"input\":\"b\"}".utf8), options: SubmitOptions(source: "c.jsonl"))
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        let outcomes = try test.queue.cancel(.ids([jobs[0].id]))
        #expect(outcomes.map(\.effect) == [.cancelled])
        #expect(try test.resultFiles() == ["\(jobs[0].id).json"])
        let result = try test.result(jobID: jobs[0].id)
        #expect(result["status"] as? String == "cancelled")
        #expect((result["error"] as? [String: Any])?["type"] as? String == "cancelled")
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)

        _ = try Self.drain(test)
        #expect(try test.resultFiles().count == 2)
        #expect(try test.result(jobID: jobs[1].id)["response"] as? String == "echo: b")
        #expect(try test.result(jobID: jobs[0].id)["status"] as? String == "cancelled")
    }

    @Test("flaky and broken agents: retried to success, or failed with the provider's error")
    func failingAgents() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "flaky", provider: "echo", model: "echo", options: ["fail_first": .number(2)]))
        try test.queue.agents.save(AgentDefinition(
            name: "broken", provider: "echo", model: "echo", options: ["fail_permanently": .bool(true)]))
        let text = """
            {"custom_id":"f","agent":"flaky","input":"try hard"}
            {"custom_id":"b","agent":"broken","input":"never"}
            """
        let report = try test.queue.submit(Data(text.utf8), options: SubmitOptions(source: "a.jsonl"))
        let summary = try test.queue.makeWorker(WorkerOptions(
            mode: .drain, concurrency: 2, pollMilliseconds: 10, backoff: RetryBackoff(baseMilliseconds: 0))
        ).run()
        #expect(summary.succeeded == 1)
        #expect(summary.failed == 1)
        #expect(summary.retried == 2)

        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        let flaky = try test.result(jobID: jobs[0].id)
        #expect(flaky["status"] as? String == "succeeded")
        #expect(flaky["attempts"] as? Int == 3)
        #expect(flaky["response"] as? String == "echo: try hard")
        #expect(try test.store.attempts(ofJob: jobs[0].id).map(\.error.type) == [
            "provider_unavailable", "provider_unavailable",
        ])
        let broken = try test.result(jobID: jobs[1].id)
        #expect(broken["status"] as? String == "failed")
        #expect(broken["attempts"] as? Int == 1)
        #expect((broken["error"] as? [String: Any])?["type"] as? String == "invalid_request")
        #expect(broken["response"] is NSNull)

        // Retrying the failed job removes its old result file until it runs again.
        let retried = try test.queue.retry(ids: [jobs[1].id, jobs[0].id])
        #expect(retried.map(\.effect) == [.requeued, .notRetryable])
        #expect(try test.resultFiles() == ["\(jobs[0].id).json"])
        #expect(try test.store.job(id: jobs[1].id)?.status == .queued)
    }

    @Test("the turns of one session run one after another, in order")
    func sessionsInOrder() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "slowish", provider: "echo", model: "echo", options: ["latency_ms": .number(20)]))
        let text = (1...6).map { #"{"session":"s","agent":"slowish","input":"turn \#($0)","priority":\#($0)}"# }
            .joined(separator: "\n")
        let report = try test.queue.submit(Data(text.utf8), options: SubmitOptions(source: "s.jsonl"))
        _ = try Self.drain(test)
        let jobs = try test.store.jobs(matching: JobFilter(batchID: report.batchID))
        #expect(jobs.map(\.status) == Array(repeating: .succeeded, count: 6))
        for (earlier, later) in zip(jobs, jobs.dropFirst()) {
            let finished = try #require(earlier.finishedAt)
            let started = try #require(later.startedAt)
            #expect(started >= finished, "\(later.input) started before \(earlier.input) finished")
        }
    }

    @Test("the result file of a job failed by a lease rescue is not overwritten by its hung worker")
    func hungWorkerResultFile() throws {
        final class Hung: JobHandler, @unchecked Sendable {
            let started = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            func run(_ job: Job, token: CancellationToken) throws -> String {
                started.signal()
                release.wait()
                return TurnResult(response: "late answer", steps: 1).jsonText
            }
        }
        let test = try TestQueue()
        defer { test.remove() }
        let report = try test.queue.submit(
            Data(#"{"input":"x","max_attempts":1}"#.utf8), options: SubmitOptions(source: "h.jsonl"))
        let id = try #require(try test.store.jobs(matching: JobFilter(batchID: report.batchID)).first?.id)
        let handler = Hung()
        // A worker whose clock stands still never renews its lease past start + 1 s.
        let clock = ManualTimeSource(start: .now)
        let pool = WorkerPool(
            store: test.store, handler: handler, sink: test.queue.results,
            options: WorkerOptions(mode: .once, concurrency: 1, leaseMilliseconds: 1_000), timeSource: clock)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? pool.run()
            done.signal()
        }
        #expect(handler.started.wait(timeout: .now() + 10) == .success)

        // Another worker rescues the expired lease: out of attempts, the job fails and its file is written.
        #expect(try test.store.rescueExpiredLeases(now: clock.now().adding(milliseconds: 60_000)) == 1)
        try test.queue.writePendingResults()
        #expect(try test.result(jobID: id)["status"] as? String == "failed")

        handler.release.signal()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(try test.store.job(id: id)?.status == .failed)
        let result = try test.result(jobID: id)
        #expect(result["status"] as? String == "failed", "the result file disagrees with the job's committed status")
        #expect((result["error"] as? [String: Any])?["type"] as? String == "lease_expired")
        #expect(result["response"] is NSNull)
    }
}
