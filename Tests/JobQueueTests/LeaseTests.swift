import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Leases")
struct LeaseTests {
    @Test("an expired lease requeues the job with its attempt counted", arguments: StoreDriver.allCases)
    func expiredRequeues(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 3)])
        let now = Timestamp.now
        #expect(try claim(test.store, now: now, limit: 1, leaseMilliseconds: 30_000).count == 1)

        // Not yet expired.
        #expect(try test.store.rescueExpiredLeases(now: now.adding(milliseconds: 29_999)) == 0)
        #expect(try job(test.store, ids[0]).status == .running)

        let later = now.adding(milliseconds: 30_001)
        #expect(try test.store.rescueExpiredLeases(now: later) == 1)
        let rescued = try job(test.store, ids[0])
        #expect(rescued.status == .queued)
        #expect(rescued.attempts == 1)
        #expect(rescued.workerID == nil)
        #expect(rescued.finishedAt == nil)
        #expect(rescued.error?.type == "lease_expired")

        let attempts = try test.store.attempts(ofJob: ids[0])
        #expect(attempts.count == 1)
        #expect(attempts.first?.attempt == 1)
        #expect(attempts.first?.error.type == "lease_expired")
        #expect(attempts.first?.at == later)
        // Not a finished job: nothing to deliver.
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)

        // A second rescue finds nothing; the job can be claimed again, as its second attempt.
        #expect(try test.store.rescueExpiredLeases(now: later.adding(milliseconds: 1)) == 0)
        let again = try claim(test.store, worker: "w2", now: later.adding(milliseconds: 1), limit: 1)
        #expect(again.map(\.id) == ids)
        #expect(again.first?.attempts == 2)
    }

    @Test("an expired lease on the last attempt fails the job and leaves it to deliver", arguments: StoreDriver.allCases)
    func expiredOnLastAttemptFails(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(handler: "h", input: "once", maxAttempts: 1),
            NewJob(handler: "h", input: "twice", maxAttempts: 2),
        ])
        let now = Timestamp.now
        #expect(try claim(test.store, now: now, limit: 2, leaseMilliseconds: 1_000).count == 2)
        let later = now.adding(milliseconds: 2_000)
        #expect(try test.store.rescueExpiredLeases(now: later) == 2)

        let failed = try job(test.store, ids[0])
        #expect(failed.status == .failed)
        #expect(failed.attempts == 1)
        #expect(failed.error?.type == "lease_expired")
        #expect(failed.finishedAt == later)
        #expect(try job(test.store, ids[1]).status == .queued)

        let undelivered = try test.store.undeliveredJobs(limit: 10)
        #expect(undelivered.map(\.id) == [ids[0]])
        try test.store.markDelivered(undelivered)
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }

    @Test("a heartbeat extends the lease so rescue leaves the job alone", arguments: StoreDriver.allCases)
    func heartbeatExtends(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x"), NewJob(handler: "h", input: "y")])
        let now = Timestamp.now
        let mine = try claim(test.store, worker: "w1", now: now, limit: 1, leaseMilliseconds: 1_000)
        let theirs = try claim(test.store, worker: "w2", now: now, limit: 1, leaseMilliseconds: 1_000)
        #expect(mine.map(\.id) == [ids[0]])
        #expect(theirs.map(\.id) == [ids[1]])

        let leases = try test.store.heartbeat(workerID: "w1", leaseUntil: now.adding(milliseconds: 120_000))
        #expect(leases.map(\.seq) == [mine[0].seq])
        #expect(leases.map(\.cancelRequested) == [false])

        // w2 did not renew: only its job is rescued.
        #expect(try test.store.rescueExpiredLeases(now: now.adding(milliseconds: 60_000)) == 1)
        #expect(try job(test.store, ids[0]).status == .running)
        #expect(try job(test.store, ids[0]).workerID == "w1")
        #expect(try job(test.store, ids[1]).status == .queued)
        #expect(try test.store.attempts(ofJob: ids[0]).isEmpty)

        // Past the renewed lease, it goes too.
        #expect(try test.store.rescueExpiredLeases(now: now.adding(milliseconds: 120_001)) == 1)
        #expect(try job(test.store, ids[0]).status == .queued)
    }

    @Test("a heartbeat reports cancel requests", arguments: StoreDriver.allCases)
    func heartbeatReportsCancel(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let claimed = try claim(test.store, limit: 1)
        _ = try test.store.cancel(.ids(ids), now: .now)
        let leases = try test.store.heartbeat(workerID: "w1", leaseUntil: Timestamp.now.adding(milliseconds: 30_000))
        #expect(leases.map(\.seq) == [claimed[0].seq])
        #expect(leases.map(\.cancelRequested) == [true])
        #expect(try test.store.heartbeat(workerID: "nobody", leaseUntil: .now).isEmpty)
    }

    @Test("a worker whose lease was lost cannot commit its outcome", arguments: StoreDriver.allCases)
    func lostLeaseCannotCommit(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x"), NewJob(handler: "h", input: "y")])
        let now = Timestamp.now
        let claimed = try claim(test.store, worker: "w1", now: now, limit: 2, leaseMilliseconds: 1_000)
        #expect(claimed.count == 2)
        #expect(try test.store.rescueExpiredLeases(now: now.adding(milliseconds: 5_000)) == 2)
        // Another worker takes the first job over; the second stays queued.
        let taken = try claim(
            test.store, worker: "w2", now: now.adding(milliseconds: 6_000), limit: 1, scope: .all,
            leaseMilliseconds: 30_000)
        #expect(taken.map(\.id) == [ids[0]])

        // The old worker finishes both jobs late.
        let result = try commit(test.store, worker: "w1", now: now.adding(milliseconds: 7_000), [
            JobOutcome(job: claimed[0], resolution: .succeeded(output: "{\"late\":true}")),
            JobOutcome(job: claimed[1], resolution: .failed(JobError(type: "late", message: "late"), output: nil)),
        ])
        #expect(result.finished.isEmpty)

        let first = try job(test.store, ids[0])
        #expect(first.status == .running)
        #expect(first.workerID == "w2")
        #expect(first.output == nil)
        let second = try job(test.store, ids[1])
        #expect(second.status == .queued)
        #expect(second.error?.type == "lease_expired")
        // Only the rescues were recorded as attempt errors, not the late failure.
        #expect(try test.store.attempts(ofJob: ids[1]).map(\.error.type) == ["lease_expired"])
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)

        // The new owner can commit.
        let mine = try commit(test.store, worker: "w2", now: now.adding(milliseconds: 8_000), [
            JobOutcome(job: taken[0], resolution: .succeeded(output: "{}"))
        ])
        #expect(mine.finished.map(\.id) == [ids[0]])
        #expect(try job(test.store, ids[0]).status == .succeeded)
    }

    @Test("a rescued job whose cancel was requested ends cancelled", arguments: StoreDriver.allCases)
    func rescueHonoursCancel(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let now = Timestamp.now
        _ = try claim(test.store, now: now, limit: 1, leaseMilliseconds: 1_000)
        #expect(try test.store.cancel(.ids(ids), now: now).map(\.effect) == [.cancelRequested])
        #expect(try test.store.rescueExpiredLeases(now: now.adding(milliseconds: 2_000)) == 1)
        let cancelled = try job(test.store, ids[0])
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.error?.type == "cancelled")
        #expect(try test.store.undeliveredJobs(limit: 10).map(\.id) == ids)
    }

    @Test("a worker that lost its lease does not overwrite the delivered end state with its own", arguments: StoreDriver.allCases)
    func lostLeaseKeepsDeliveredState(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 1)])
        // The pool's clock stands still, so its lease is never renewed past start + 1 s: a hung worker.
        let clock = ManualTimeSource(start: .now)
        let release = DispatchSemaphore(value: 0)
        let started = Counter()
        let handler = ClosureHandler { _, _ in
            started.increment()
            release.wait()
            return "{\"late\":true}"
        }
        let sink = CollectingSink()
        let pool = WorkerPool(
            store: test.store, handler: handler, sink: sink,
            options: WorkerOptions(mode: .once, concurrency: 1, leaseMilliseconds: 1_000), timeSource: clock)
        let run = BackgroundRun(pool)
        #expect(eventually(within: 10) { started.value == 1 })

        // Another process finds the lease expired. Out of attempts, the job fails, and that end
        // state is delivered and marked delivered, as that process's pool would do.
        #expect(try test.store.rescueExpiredLeases(now: clock.now().adding(milliseconds: 60_000)) == 1)
        let pending = try test.store.undeliveredJobs(limit: 10)
        #expect(pending.map(\.id) == ids)
        try sink.deliver(pending)
        try test.store.markDelivered(pending)

        // The hung worker wakes up and finishes; its outcome cannot commit.
        release.signal()
        let summary = try #require(run.wait(seconds: 10), "the pool did not return").get()
        let stored = try job(test.store, ids[0])
        #expect(stored.status == .failed)
        #expect(stored.error?.type == "lease_expired")
        #expect(stored.output == nil)
        // What the sink holds last for the job must be the committed end state, since the job will not run again.
        try expectDeliveredAsStored(sink, test.store, ids[0])
        #expect(summary.succeeded == 0, "an outcome that did not commit was counted as succeeded")
    }
}
