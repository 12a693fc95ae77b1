import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Worker pool")
struct WorkerPoolTests {
    @Test("shutdown hands a running job back to the queue without counting its attempt", arguments: StoreDriver.allCases)
    func shutdownRequeues(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "slow", input: "x", maxAttempts: 3)])
        let started = Counter()
        let sink = CollectingSink()
        let pool = WorkerPool(
            store: test.store, handler: waitingHandler(started: started), sink: sink,
            options: WorkerOptions(mode: .forever, concurrency: 2, pollMilliseconds: 10))
        let run = BackgroundRun(pool)
        #expect(eventually(within: 10) { started.value == 1 })
        #expect(try job(test.store, ids[0]).status == .running)
        #expect(try job(test.store, ids[0]).attempts == 1)

        pool.shutdown(graceMilliseconds: 100)
        let result = try #require(run.wait(seconds: 10), "run() did not return after shutdown")
        let summary = try result.get()
        #expect(summary.requeued == 1)
        #expect(summary.succeeded + summary.failed + summary.cancelled == 0)

        let back = try job(test.store, ids[0])
        #expect(back.status == .queued)
        #expect(back.attempts == 0)
        #expect(back.workerID == nil)
        #expect(back.error == nil)
        #expect(try test.store.attempts(ofJob: ids[0]).isEmpty)
        #expect(sink.delivered.isEmpty)
        // Claimable again, as a first attempt.
        #expect(try claim(test.store, limit: 1).first?.attempts == 1)
    }

    @Test("a job that finishes within the grace period is committed normally", arguments: StoreDriver.allCases)
    func shutdownGraceLetsJobsFinish(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let started = Counter()
        let handler = ClosureHandler { _, token in
            started.increment()
            // Finishes 150 ms after starting unless the token fires first.
            if token.wait(milliseconds: 150) { throw JobCancelled() }
            return "{\"done\":true}"
        }
        let pool = WorkerPool(
            store: test.store, handler: handler, sink: CollectingSink(),
            options: WorkerOptions(mode: .forever, concurrency: 1, pollMilliseconds: 10))
        let run = BackgroundRun(pool)
        #expect(eventually(within: 10) { started.value == 1 })
        pool.shutdown(graceMilliseconds: 10_000)
        let summary = try #require(run.wait(seconds: 10)).get()
        #expect(summary.succeeded == 1)
        #expect(summary.requeued == 0)
        #expect(try job(test.store, ids[0]).status == .succeeded)
        #expect(try job(test.store, ids[0]).output == "{\"done\":true}")
    }

    @Test("mode once runs exactly one job", arguments: StoreDriver.allCases)
    func once(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, (0..<3).map { NewJob(handler: "h", input: "job \($0)") })
        let runs = Counter()
        let sink = CollectingSink()
        let handler = ClosureHandler { job, _ in
            runs.increment()
            return "{\"input\":\"\(job.input)\"}"
        }
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: sink, options: fastOptions(mode: .once, concurrency: 4)
        ).run()
        #expect(runs.value == 1)
        #expect(summary.succeeded == 1)
        let counts = try test.store.counts(batchID: nil)
        #expect(counts.succeeded == 1)
        #expect(counts.queued == 2)
        #expect(counts.running == 0)
        // The first job in claim order ran, and its result reached the sink before run() returned.
        #expect(try job(test.store, ids[0]).status == .succeeded)
        #expect(sink.deliveredIDs == [ids[0]])
        try expectDeliveredAsStored(sink, test.store, ids[0])
    }

    @Test("mode once with nothing to do returns at once", arguments: StoreDriver.allCases)
    func onceEmpty(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let start = Date()
        let summary = try WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in "{}" }, sink: CollectingSink(),
            options: fastOptions(mode: .once)
        ).run()
        #expect(summary == WorkerSummary())
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test("mode drain returns once every job is finished and delivered", arguments: StoreDriver.allCases)
    func drain(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let total = 60
        let ids = try enqueue(test.store, (0..<total).map {
            NewJob(lane: $0 % 10 == 0 ? "L" : nil, handler: "h", input: "n\($0)", priority: $0 % 3)
        })
        let sink = CollectingSink()
        let handler = ClosureHandler { job, _ in
            if job.input == "n7" { throw JobFailure(type: "bad", message: "seven", retryable: false) }
            return "{\"echo\":\"\(job.input)\"}"
        }
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: sink, options: fastOptions(mode: .drain, concurrency: 4)
        ).run()
        #expect(summary.succeeded == total - 1)
        #expect(summary.failed == 1)
        let counts = try test.store.counts(batchID: nil)
        #expect(counts.succeeded == total - 1)
        #expect(counts.failed == 1)
        #expect(counts.total == total)
        #expect(try !test.store.hasUnfinishedJobs(in: .all))
        #expect(sink.deliveredIDs == Set(ids))
        for id in ids { try expectDeliveredAsStored(sink, test.store, id) }
        #expect(try test.store.undeliveredJobs(limit: 100).isEmpty)
        for job in try test.store.jobs(matching: JobFilter()) where job.status == .succeeded {
            #expect(job.output == "{\"echo\":\"\(job.input)\"}")
            #expect(job.attempts == 1)
        }
    }

    @Test("drain waits for a job whose retry is due later", arguments: StoreDriver.allCases)
    func drainWaitsForRetry(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let handler = ClosureHandler { job, _ in
            if job.attempts == 1 { throw JobFailure(type: "flaky", message: "later", retryable: true) }
            return "{}"
        }
        let start = Date()
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: CollectingSink(),
            options: fastOptions(mode: .drain, backoff: RetryBackoff(baseMilliseconds: 400, random: { 0 }))
        ).run()
        #expect(Date().timeIntervalSince(start) >= 0.2)
        #expect(summary.retried == 1)
        #expect(summary.succeeded == 1)
        #expect(try job(test.store, ids[0]).status == .succeeded)
        #expect(try job(test.store, ids[0]).attempts == 2)
    }

    @Test("a pool rescues the jobs of a dead worker and runs them", arguments: StoreDriver.allCases)
    func rescuesDeadWorker(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let aMinuteAgo = Timestamp.now.adding(milliseconds: -60_000)
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", runAt: aMinuteAgo)])
        // A worker that claimed the job a minute ago, with a 1 s lease, and died.
        let dead = try claim(test.store, worker: "dead", now: aMinuteAgo, limit: 1, leaseMilliseconds: 1_000)
        #expect(dead.map(\.id) == ids)
        let summary = try WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in "{}" }, sink: CollectingSink(),
            options: fastOptions(mode: .drain)
        ).run()
        #expect(summary.rescued == 1)
        #expect(summary.succeeded == 1)
        let done = try job(test.store, ids[0])
        #expect(done.status == .succeeded)
        #expect(done.attempts == 2)
        #expect(try test.store.attempts(ofJob: ids[0]).map(\.error.type) == ["lease_expired"])
    }

    @Test("the pool delivers finished jobs nobody delivered yet", arguments: StoreDriver.allCases)
    func deliversLeftovers(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let claimed = try claim(test.store, worker: "other", limit: 1)
        try commit(test.store, worker: "other", [JobOutcome(job: claimed[0], resolution: .succeeded(output: "{}"))])
        let sink = CollectingSink()
        try WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in "{}" }, sink: sink, options: fastOptions(mode: .drain)
        ).run()
        #expect(sink.deliveredIDs == Set(ids))
        try expectDeliveredAsStored(sink, test.store, ids[0])
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }

    @Test("a sink that fails is retried: the job stays pending until delivered", arguments: StoreDriver.allCases)
    func failingSink(_ driver: StoreDriver) throws {
        final class FlakySink: FinishedJobSink, @unchecked Sendable {
            let lock = NSLock()
            var calls = 0
            var delivered: [String] = []
            func deliver(_ jobs: [Job]) throws {
                lock.lock()
                defer { lock.unlock() }
                calls += 1
                if calls == 1 { throw CocoaError(.fileWriteUnknown) }
                delivered += jobs.map(\.id)
            }
        }
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let sink = FlakySink()
        let pool = WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in "{}" }, sink: sink,
            options: WorkerOptions(mode: .forever, concurrency: 1, leaseMilliseconds: 2_000, pollMilliseconds: 10))
        let run = BackgroundRun(pool)
        // The first delivery fails; the job stays pending delivery and is delivered again.
        let delivered = eventually(within: 10) {
            sink.lock.lock()
            defer { sink.lock.unlock() }
            return Set(sink.delivered) == Set(ids)
        }
        #expect(delivered)
        #expect(eventually(within: 5) { (try? test.store.undeliveredJobs(limit: 10).isEmpty) == true })
        pool.shutdown(graceMilliseconds: 0)
        #expect(run.wait(seconds: 10) != nil)
    }
}
