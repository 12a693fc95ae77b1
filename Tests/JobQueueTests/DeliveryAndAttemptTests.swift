import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

@Suite("Delivery marks, attempt numbers and lock waits")
struct DeliveryAndAttemptTests {
    @Test("marking a job delivered clears only the state that was delivered, not a newer one", arguments: StoreDriver.allCases)
    func deliveredMarkIsVersioned(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 1)])
        // First run fails; nobody delivers it yet.
        let first = try #require(try claim(test.store, limit: 1).first)
        try commit(test.store, [JobOutcome(job: first, resolution: .failed(JobError(type: "e", message: "m"), output: nil))])
        let stale = try test.store.undeliveredJobs(limit: 10)
        #expect(stale.map(\.status) == [.failed])
        // Meanwhile the job is retried and succeeds; its new end state waits for delivery too.
        _ = try test.store.retry(ids: ids, now: .now)
        let second = try #require(try claim(test.store, limit: 1).first)
        try commit(test.store, [JobOutcome(job: second, resolution: .succeeded(output: "{}"))])
        // The slow deliverer of the old state now reports it: the new state must stay pending.
        try test.store.markDelivered(stale)
        let pending = try test.store.undeliveredJobs(limit: 10)
        #expect(pending.map(\.status) == [.succeeded], "the succeeded state lost its delivery mark")
        try test.store.markDelivered(pending)
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }

    @Test("one round trip ending many jobs writes exactly those still the worker's, whatever their place in it",
          arguments: StoreDriver.allCases)
    func endStatesOfOwnedAndLostJobs(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let batch = NewBatch(source: "mixed")
        try enqueue(test.store, (0..<100).map { NewJob(handler: "h", input: "j\($0)", maxAttempts: 1) }, batch: batch)
        // Every fourth job's lease runs out and another worker takes it over.
        let claimed = try claim(test.store, worker: "w1", limit: 100)
        #expect(claimed.count == 100)
        let lost = Set(claimed.enumerated().filter { $0.offset % 4 == 3 }.map(\.element.seq))
        let shortLeased = try test.store.exchange(ExchangeRequest(
            workerID: "w1", now: .now, outcomes: claimed.filter { lost.contains($0.seq) }.map {
                JobOutcome(job: $0, resolution: .requeue)
            }))
        #expect(shortLeased.refused.isEmpty)
        let takenOver = try claim(test.store, worker: "w2", limit: 100)
        #expect(Set(takenOver.map(\.seq)) == lost)

        // w1 reports all 100 in one round trip (several statements' worth): succeeded, failed,
        // cancelled in turn; some of the lost ones were already delivered by w1's sink.
        let error = JobError(type: "agent_error", message: "boom")
        let outcomes = claimed.enumerated().map { index, job in
            let resolution: JobOutcome.Resolution = switch index % 3 {
            case 0: .succeeded(output: #"{"n": \#(index)}"#)
            case 1: .failed(error, output: "partial \(index)")
            default: .cancelled(JobError(type: "cancelled", message: "stop \(index)"), output: nil)
            }
            return JobOutcome(job: job, resolution: resolution, delivered: index % 2 == 0)
        }
        let result = try commit(test.store, worker: "w1", outcomes)
        #expect(result.refused == lost)
        for (index, outcome) in outcomes.enumerated() {
            let stored = try #require(try test.store.job(id: outcome.job.id))
            if lost.contains(outcome.job.seq) {
                #expect(stored.status == .running && stored.workerID == "w2", "job \(index) is w2's and stays so")
                continue
            }
            let end = try #require(outcome.finishedJob)
            #expect(stored.status == end.status, "job \(index)")
            #expect(stored.output == end.output, "job \(index)")
            #expect(stored.error == end.error, "job \(index)")
            #expect(stored.workerID == nil && stored.finishedAt == outcome.finishedAt, "job \(index)")
            let attempts = try test.store.attempts(ofJob: outcome.job.id)
            #expect(attempts.map(\.error) == (end.error.map { [$0] } ?? []), "job \(index)")
        }
        // Undelivered end states are returned for delivery, delivered ones not again; a lost
        // job is not, its w1 end state never having committed.
        let expectedForDelivery = Set(outcomes.enumerated()
            .filter { !lost.contains($0.element.job.seq) && $0.offset % 2 == 1 }.map(\.element.job.seq))
        #expect(Set(result.finished.map(\.seq)) == expectedForDelivery)
        let counts = try test.store.counts(batchID: batch.id)
        #expect(counts.running == lost.count && counts.succeeded + counts.failed + counts.cancelled == 100 - lost.count)
    }

    @Test("jobs retry numbers the new attempts after the old ones", arguments: StoreDriver.allCases)
    func retryNumbersAttemptsOnwards(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 1)])
        let first = try #require(try claim(test.store, limit: 1).first)
        #expect(first.attempts == 1)
        try commit(test.store, [JobOutcome(job: first, resolution: .failed(JobError(type: "e", message: "one"), output: nil))])
        _ = try test.store.retry(ids: ids, now: .now)
        let second = try #require(try claim(test.store, limit: 1).first)
        #expect(second.attempts == 2, "the retried run must be attempt 2, not a second attempt 1")
        try commit(test.store, [JobOutcome(job: second, resolution: .failed(JobError(type: "e", message: "two"), output: nil))])
        #expect(try test.store.attempts(ofJob: ids[0]).map(\.attempt) == [1, 2])
        // The retry gave the job its attempts again: it is not failed for being out of attempts.
        let stored = try job(test.store, ids[0])
        #expect(stored.attempts == 2)
        #expect(stored.maxAttempts == 2)
    }

    // SQLite only: PostgreSQL has no database-wide write lock for a heartbeat to wait behind.
    @Test("a heartbeat that waited for another process's write lock still leaves a live lease")
    func lockWaitDoesNotExpireLease() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let claimed = try #require(try claim(test.store, limit: 1, leaseMilliseconds: 1000).first)
        // Another process holds the write lock for 1.5 s, longer than the 1 s lease the heartbeat asks for.
        let other = try test.openAnotherStore().database
        let holding = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? other.pool.write { db in
                try db.execute(sql: "UPDATE batches SET source = source")
                holding.signal()
                Thread.sleep(forTimeInterval: 1.5)
            }
            released.signal()
        }
        holding.wait()
        let asked = Timestamp.now
        let leases = try test.store.heartbeat(workerID: "w1", leaseUntil: asked.adding(milliseconds: 1000))
        #expect(leases.map(\.seq) == [claimed.seq])
        released.wait()
        // Right after the wait, a rescuer must not find the lease expired.
        #expect(try test.store.rescueExpiredLeases(now: .now) == 0, "the lock wait alone expired the lease")
        #expect(try job(test.store, claimed.id).status == .running)
    }
}

@Suite("Bulk enqueue in short transactions")
struct StagedEnqueueTests {
    struct Stop: Error {}

    @Test("a large enqueue whose body throws half-way leaves no job and no batch behind", arguments: StoreDriver.allCases)
    func throwingBodyLeavesNothing(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let rows = SQLiteJobStore.rowsPerTransaction * 3
        #expect(throws: Stop.self) {
            _ = try test.store.enqueue(batch: NewBatch(source: "big")) { inserter in
                for index in 0..<rows { try inserter.insert(NewJob(handler: "h", input: "\(index)")) }
                throw Stop()
            }
        }
        let left = try test.count("SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM batches)")
        #expect(left == 0)
    }

    @Test("a large enqueue goes live whole, in submission order", arguments: StoreDriver.allCases)
    func largeEnqueueGoesLive(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let rows = SQLiteJobStore.rowsPerTransaction * 2 + 17
        let summary = try test.store.enqueue(batch: NewBatch(source: "big")) { inserter in
            for index in 0..<rows { try inserter.insert(NewJob(handler: "h", input: "\(index)")) }
        }
        #expect(summary.count == rows)
        let batchID = try #require(summary.batchID)
        let batch = try #require(try test.store.batch(id: batchID))
        #expect(batch.counts[.queued] == rows)
        let first = try claim(test.store, limit: 3).map(\.input)
        #expect(first == ["0", "1", "2"])
    }
}
