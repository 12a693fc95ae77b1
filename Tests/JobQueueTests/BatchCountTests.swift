import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

/// The per-batch counts `batch status` reads (kept as counters by the SQLite driver) must equal
/// the rows themselves after every kind of status change, whichever path or process made it.
@Suite("Batch counts")
struct BatchCountTests {
    /// Each batch's counts as the store reports them equal a fresh count of its rows by status.
    func expectExact(
        _ store: any JobStore, _ batchIDs: [String], _ step: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for batchID in batchIDs {
            var fresh = JobCounts()
            for job in try store.jobs(matching: JobFilter(batchID: batchID)) { fresh[job.status] += 1 }
            let counted = try store.counts(batchID: batchID)
            #expect(counted == fresh, "\(step): batch \(batchID)", sourceLocation: sourceLocation)
            if let batch = try store.batch(id: batchID) {
                #expect(batch.counts == fresh, "\(step): batch \(batchID) (batch(id:))", sourceLocation: sourceLocation)
            }
        }
    }

    /// Claims up to `count` jobs of one batch for `worker`.
    func claimFrom(
        _ store: any JobStore, batch: String, _ count: Int, worker: String = "w1", leaseMilliseconds: Int64 = 30_000
    ) throws -> [Job] {
        try claim(store, worker: worker, limit: count, scope: .batch(batch), leaseMilliseconds: leaseMilliseconds)
    }

    @Test("batch counts equal a fresh count by status after every kind of status change", arguments: StoreDriver.allCases)
    func countsStayExact(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let store = test.store
        let error = JobError(type: "boom", message: "it broke")

        // Submit: a batch large enough to load staged and go live in chunks, a small one
        // (lanes included), another, and jobs with no batch.
        let large = NewBatch(source: "large")
        let small = NewBatch(source: "small")
        let third = NewBatch(source: "third")
        try enqueue(store, (0..<(SQLiteJobStore.rowsPerTransaction + 300)).map {
            NewJob(handler: "h", input: "l\($0)", maxAttempts: $0 % 3 == 0 ? 1 : 3)
        }, batch: large)
        let smallIDs = try enqueue(store, (0..<30).map {
            NewJob(lane: $0 < 6 ? "lane-s" : nil, handler: "h", input: "s\($0)", maxAttempts: $0 % 2 == 0 ? 1 : 3)
        }, batch: small)
        try enqueue(store, (0..<20).map { NewJob(handler: "h", input: "t\($0)", maxAttempts: 2) }, batch: third)
        try enqueue(store, (0..<5).map { NewJob(handler: "h", input: "loose\($0)") })
        let batches = [large.id, small.id, third.id]
        try expectExact(store, batches, "submitted")

        // A submission that throws after loading some chunks leaves nothing behind.
        let failed = NewBatch(source: "failed")
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            _ = try store.enqueue(batch: failed) { inserter in
                for index in 0..<(SQLiteJobStore.rowsPerTransaction + 10) { _ = try inserter.insert(NewJob(handler: "h", input: "f\(index)")) }
                throw Stop()
            }
        }
        try expectExact(store, batches + [failed.id], "a failed submission")

        // Claims (queued -> running) from every batch, and loose jobs.
        let fromLarge = try claimFrom(store, batch: large.id, 60)
        let fromSmall = try claimFrom(store, batch: small.id, 12)
        let fromThird = try claimFrom(store, batch: third.id, 10)
        var stillRunning = try claim(store, limit: 3, scope: .all)
        try expectExact(store, batches, "claimed")

        // One round trip ending jobs of several batches every way a worker can.
        var outcomes: [JobOutcome] = []
        for (index, job) in (fromLarge + fromSmall + fromThird).enumerated() {
            let resolution: JobOutcome.Resolution
            switch index % 6 {
            case 0: resolution = .succeeded(output: "{}")
            case 1: resolution = .failed(error, output: nil)
            case 2: resolution = .cancelled(JobError(type: "cancelled", message: "stop"), output: nil)
            case 3: resolution = .retry(error, at: .now, output: nil)
            case 4: resolution = .requeue
            default: stillRunning.append(job); continue
            }
            outcomes.append(JobOutcome(job: job, resolution: resolution, delivered: index % 4 == 0))
        }
        let result = try commit(store, outcomes)
        #expect(result.refused.isEmpty)
        try expectExact(store, batches, "one round trip of mixed outcomes")

        // A cancel asked of running jobs, then their worker retries or requeues them: cancelled.
        let toCancel = try claimFrom(store, batch: large.id, 4) + claimFrom(store, batch: small.id, 2)
        _ = try store.cancel(.ids(toCancel.map(\.id)), now: .now)
        try expectExact(store, batches, "cancel requested of running jobs")
        _ = try commit(store, toCancel.enumerated().map { index, job in
            JobOutcome(job: job, resolution: index % 2 == 0 ? .retry(error, at: .now, output: nil) : .requeue)
        })
        try expectExact(store, batches, "retry and requeue of jobs asked to cancel")

        // Outcomes of jobs whose lease was lost are refused and change nothing.
        let lost = try claimFrom(store, batch: third.id, 3, worker: "w-lost", leaseMilliseconds: 1)
        let rescued = try store.rescueExpiredLeases(now: .now.adding(milliseconds: 1_000))
        #expect(rescued >= 3)
        try expectExact(store, batches, "rescued")
        let refused = try commit(store, worker: "w-lost", lost.map { JobOutcome(job: $0, resolution: .succeeded(output: "{}")) })
        #expect(refused.refused.count == 3)
        try expectExact(store, batches, "refused outcomes")

        // Rescue every way: back to the queue, failed (out of attempts), cancelled (asked to).
        let expiring = try claimFrom(store, batch: small.id, 6, worker: "w-dies", leaseMilliseconds: 1)
            + claimFrom(store, batch: large.id, 9, worker: "w-dies", leaseMilliseconds: 1)
        _ = try store.cancel(.ids([expiring[0].id, expiring[7].id]), now: .now)
        _ = try store.rescueExpiredLeases(now: .now.adding(milliseconds: 1_000))
        try expectExact(store, batches, "rescue to queued, failed and cancelled")

        // Cancels of queued jobs by ID, by lane, by batch.
        let stillQueued = try store.jobs(matching: JobFilter(status: .queued, batchID: large.id, limit: 5))
        _ = try store.cancel(.ids(stillQueued.map(\.id)), now: .now)
        _ = try store.cancel(.lane("lane-s"), now: .now)
        try expectExact(store, batches, "cancel by ID and lane")
        _ = try store.cancel(.batch(third.id), now: .now)
        try expectExact(store, batches, "cancel a batch")

        // Retry failed and cancelled jobs by hand.
        let ended = try store.jobs(matching: JobFilter(status: .failed, limit: 8))
            + store.jobs(matching: JobFilter(status: .cancelled, limit: 8))
        _ = try store.retry(ids: ended.map(\.id) + [smallIDs[0]], now: .now)
        try expectExact(store, batches, "retried by hand")

        // Pausing a lane changes no status; resuming it neither.
        try store.setLane("lane-s", paused: true)
        try expectExact(store, batches, "lane paused")
        try store.setLane("lane-s", paused: false)

        // Another process (or host) ends jobs of the same batches.
        let other = try test.openAnotherStore()
        let otherClaimed = try claim(other, worker: "w2", limit: 40)
        _ = try commit(other, worker: "w2", otherClaimed.enumerated().map { index, job in
            JobOutcome(job: job, resolution: index % 3 == 0 ? .failed(error, output: nil) : .succeeded(output: "{}"))
        })
        try expectExact(store, batches, "another process's round trip")
        try expectExact(other, batches, "another process's round trip, read there")

        _ = try commit(store, stillRunning.map { JobOutcome(job: $0, resolution: .succeeded(output: "{}")) })
        try expectExact(store, batches, "the jobs left running end")

        // A worker pool drains the rest (claims, ends and deliveries in its round trips);
        // every fifth job fails for good, every seventh is retried once.
        let handler = ClosureHandler { job, _ in
            let number = Int(job.input.dropFirst()) ?? 0
            if number % 5 == 0 { throw JobFailure(type: "bad", message: "no", retryable: false) }
            if number % 7 == 0 && job.attempts == 1 { throw JobFailure(type: "flaky", message: "again", retryable: true) }
            return "{}"
        }
        _ = try WorkerPool(store: store, handler: handler, sink: CollectingSink(), options: fastOptions(mode: .drain, concurrency: 4)).run()
        try expectExact(store, batches, "drained by a worker pool")
        #expect(try store.hasUnfinishedJobs(in: .all) == false)

        // Retry some by hand again, then prune everything finished: the batches go, or keep
        // only the retried jobs.
        _ = try store.retry(ids: try store.jobs(matching: JobFilter(status: .failed, batchID: large.id, limit: 3)).map(\.id), now: .now)
        try store.markDelivered(try store.undeliveredJobs(limit: 100_000))
        _ = try store.pruneFinishedJobs(finishedBefore: .now.adding(milliseconds: 60_000), dryRun: false) { _ in }
        try expectExact(store, batches, "pruned")
        #expect(try store.counts(batchID: large.id).queued == 3)
        #expect(try store.counts(batchID: small.id) == JobCounts())
        #expect(try test.count("SELECT COUNT(*) FROM jobs WHERE status = 'queued'") == 3)
    }

    @Test("SQLite: a batch enqueued along with other writes, rows written with plain SQL, and a recount keep the counts exact")
    func sqliteOtherWriters() throws {
        let test = try TestStore(.sqlite)
        defer { test.remove() }
        let store = try #require(test.store as? SQLiteJobStore)
        let batch = NewBatch(source: "schedule:x")
        let summary = try store.enqueue(batch: batch, jobs: (0..<10).map { NewJob(handler: "h", input: "\($0)") }) { _ in true }
        #expect(summary?.count == 10)
        try expectExact(store, [batch.id], "enqueued along with")
        let running = try claim(store, limit: 4)
        _ = try commit(store, [JobOutcome(job: running[0], resolution: .succeeded(output: "{}"))])
        // Plain SQL from another connection, as the sqlite3 shell would write it: rows inserted
        // and deleted are counted as they go; statuses changed by hand once recounted.
        let database = try SQLiteDatabase(path: try #require(test.path), migrations: SQLiteJobStore.migrations)
        try database.write { db, _ in
            try db.execute(sql: "DELETE FROM jobs WHERE seq = ?", arguments: [running[2].seq])
            try db.execute(sql: """
                INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, status, created_at)
                VALUES ('job_by_hand', ?, 'h', 'x', 0, 1, 'queued', 0)
                """, arguments: [batch.id])
        }
        try expectExact(store, [batch.id], "inserted and deleted by plain SQL")
        try database.write { db, _ in
            try db.execute(sql: "UPDATE jobs SET status = 'failed', worker_id = NULL WHERE seq = ?", arguments: [running[1].seq])
            try db.execute(sql: "UPDATE jobs SET status = 'succeeded' WHERE status = 'queued' AND seq % 2 = 0")
            try SQLiteJobStore.recountBatchJobs(db)
        }
        try expectExact(store, [batch.id], "statuses changed by plain SQL, then recounted")
        // And the store's own round trip right after.
        _ = try commit(store, [JobOutcome(job: running[3], resolution: .failed(JobError(type: "x", message: "y"), output: nil))])
        try expectExact(store, [batch.id], "a round trip after plain SQL")
    }
}
