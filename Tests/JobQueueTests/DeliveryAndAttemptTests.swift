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
