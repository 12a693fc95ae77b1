import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Cancelling jobs")
struct CancellationTests {
    @Test("cancelling a queued job cancels it at once and leaves it to deliver", arguments: StoreDriver.allCases)
    func queued(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x"), NewJob(handler: "h", input: "y")])
        let now = Timestamp.now
        let outcomes = try test.store.cancel(.ids([ids[0]]), now: now)
        #expect(describe(outcomes) == ["\(ids[0]) cancelled cancelled"])
        let cancelled = try job(test.store, ids[0])
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.attempts == 0)
        #expect(cancelled.finishedAt == now)
        #expect(cancelled.error?.type == "cancelled")
        #expect(try job(test.store, ids[1]).status == .queued)
        // Never claimed, and delivered to the sink as a finished job.
        #expect(try claim(test.store, limit: 10).map(\.id) == [ids[1]])
        #expect(try test.store.undeliveredJobs(limit: 10).map(\.id) == [ids[0]])

        let sink = CollectingSink()
        try WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in "{}" }, sink: sink,
            options: fastOptions(mode: .once)
        ).run()
        #expect(sink.deliveredIDs == [ids[0]])
        #expect(sink.last(ids[0])?.status == .cancelled)
        try expectDeliveredAsStored(sink, test.store, ids[0])
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }

    @Test("cancelling a running job stops its worker, which ends it cancelled", arguments: StoreDriver.allCases)
    func running(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "slow", input: "x")])
        let started = Counter()
        let sink = CollectingSink()
        let pool = WorkerPool(
            store: test.store, handler: waitingHandler(started: started), sink: sink,
            options: WorkerOptions(mode: .drain, concurrency: 2))
        let run = BackgroundRun(pool)
        #expect(eventually(within: 10) { started.value == 1 })
        #expect(try job(test.store, ids[0]).status == .running)

        let outcomes = try test.store.cancel(.ids(ids), now: .now)
        let cancelledAt = Date()
        #expect(describe(outcomes) == ["\(ids[0]) cancel_requested running"])
        #expect(try job(test.store, ids[0]).cancelRequested)

        let result = try #require(run.wait(seconds: 10), "the pool did not stop")
        let summary = try result.get()
        let stoppedAfter = try #require(run.finishedAt).timeIntervalSince(cancelledAt)
        #expect(stoppedAfter < 2, "the pool took \(stoppedAfter) s to stop")
        #expect(summary.cancelled == 1)
        let cancelled = try job(test.store, ids[0])
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.error?.type == "cancelled")
        #expect(cancelled.attempts == 1)
        #expect(sink.deliveredIDs == Set(ids))
        #expect(sink.last(ids[0])?.status == .cancelled)
        try expectDeliveredAsStored(sink, test.store, ids[0])
        #expect(started.value == 1)
    }

    @Test("cancelling by batch cancels the queued jobs of the batch and asks for the running ones", arguments: StoreDriver.allCases)
    func byBatch(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let batch = NewBatch(source: "b.jsonl")
        let inBatch = try enqueue(test.store, (0..<3).map { NewJob(handler: "h", input: "\($0)") }, batch: batch)
        let other = try enqueue(test.store, [NewJob(handler: "h", input: "other")])
        let running = try claim(test.store, limit: 1)
        #expect(running.map(\.id) == [inBatch[0]])

        let outcomes = try test.store.cancel(.batch(batch.id), now: .now)
        #expect(Set(describe(outcomes)) == Set([
            "\(inBatch[0]) cancel_requested running",
            "\(inBatch[1]) cancelled cancelled",
            "\(inBatch[2]) cancelled cancelled",
        ]))
        #expect(outcomes.count == 3)
        #expect(try job(test.store, other[0]).status == .queued)
        let counts = try test.store.counts(batchID: batch.id)
        #expect(counts.cancelled == 2)
        #expect(counts.running == 1)
        #expect(try test.store.batch(id: batch.id)?.status == "running")
    }

    @Test("cancelling by lane", arguments: StoreDriver.allCases)
    func byLane(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(lane: "s1", handler: "h", input: "1"),
            NewJob(lane: "s1", handler: "h", input: "2"),
            NewJob(lane: "s2", handler: "h", input: "3"),
        ])
        let running = try claim(test.store, limit: 10)
        #expect(Set(running.map(\.id)) == Set([ids[0], ids[2]]))
        let outcomes = try test.store.cancel(.lane("s1"), now: .now)
        #expect(Set(describe(outcomes)) == Set([
            "\(ids[0]) cancel_requested running",
            "\(ids[1]) cancelled cancelled",
        ]))
        #expect(outcomes.count == 2)
        #expect(try job(test.store, ids[2]).cancelRequested == false)
        #expect(try test.store.cancel(.lane("nobody"), now: .now).isEmpty)
    }

    @Test("cancelling a finished job or an unknown ID changes nothing", arguments: StoreDriver.allCases)
    func finishedAndUnknown(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let claimed = try claim(test.store, limit: 1)
        try commit(test.store, [JobOutcome(job: claimed[0], resolution: .succeeded(output: "{\"ok\":1}"))])
        let outcomes = try test.store.cancel(.ids([ids[0], "job_unknown"]), now: .now)
        #expect(describe(outcomes) == [
            "\(ids[0]) already_finished succeeded",
            "job_unknown not_found nil",
        ])
        let done = try job(test.store, ids[0])
        #expect(done.status == .succeeded)
        #expect(done.cancelRequested == false)
        #expect(done.output == "{\"ok\":1}")
    }

    @Test("a cancel that arrives while an attempt fails wins over the retry", arguments: StoreDriver.allCases)
    func cancelWinsOverRetry(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let claimed = try claim(test.store, limit: 1)
        _ = try test.store.cancel(.ids(ids), now: .now)
        let result = try commit(test.store, [JobOutcome(
            job: claimed[0], resolution: .retry(JobError(type: "flaky", message: "m"), at: .now, output: nil))])
        #expect(result.finished.map(\.id) == ids)
        #expect(try job(test.store, ids[0]).status == .cancelled)
        #expect(try claim(test.store, limit: 1).isEmpty)
    }
}

@Suite("CancellationToken")
struct CancellationTokenTests {
    @Test("onCancel callbacks fire once, with the first reason")
    func firesOnce() {
        let token = CancellationToken()
        let calls = Counter()
        final class Reasons: @unchecked Sendable {
            let lock = NSLock()
            var all: [CancellationReason] = []
        }
        let reasons = Reasons()
        token.onCancel { reason in
            calls.increment()
            reasons.lock.lock()
            reasons.all.append(reason)
            reasons.lock.unlock()
        }
        #expect(!token.isCancelled)
        #expect(calls.value == 0)
        token.cancel(.shutdown)
        token.cancel(.requested)
        token.cancel(.leaseLost)
        #expect(calls.value == 1)
        #expect(reasons.all == [.shutdown])
        #expect(token.reason == .shutdown)
        #expect(token.isCancelled)
    }

    @Test("a callback added after the token fired runs at once; a removed one never runs")
    func lateAndRemoved() {
        let token = CancellationToken()
        let removed = Counter()
        let key = token.onCancel { _ in removed.increment() }
        token.removeCallback(key)
        token.cancel()
        #expect(removed.value == 0)
        let late = Counter()
        token.onCancel { _ in late.increment() }
        #expect(late.value == 1)
        #expect(throws: JobCancelled.self) { try token.checkCancelled() }
    }

    @Test("wait returns early when the token fires")
    func waitReturnsEarly() {
        let token = CancellationToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { token.cancel() }
        let start = Date()
        let fired = token.wait(milliseconds: 60_000)
        let elapsed = Date().timeIntervalSince(start)
        #expect(fired)
        #expect(elapsed < 2)
    }

    @Test("wait times out when nothing fires; sleep throws once fired")
    func waitTimesOut() throws {
        let token = CancellationToken()
        let start = Date()
        #expect(token.wait(milliseconds: 30) == false)
        #expect(Date().timeIntervalSince(start) >= 0.025)
        try token.sleep(milliseconds: 1)
        token.cancel()
        #expect(token.wait(milliseconds: 60_000))
        #expect(throws: JobCancelled.self) { try token.sleep(milliseconds: 60_000) }
    }
}
