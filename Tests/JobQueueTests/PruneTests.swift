import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

@Suite("Pruning finished jobs")
struct PruneTests {
    static let day: Int64 = 86_400_000

    /// Claims the next `count` jobs and ends them as `resolution` at `at`.
    func finish(_ store: any JobStore, _ count: Int, _ resolution: JobOutcome.Resolution, at: Timestamp, deliver: Bool = true) throws -> [Job] {
        let claimed = try claim(store, limit: count)
        let result = try commit(store, claimed.map { JobOutcome(job: $0, resolution: resolution, finishedAt: at) })
        if deliver { try store.markDelivered(result.finished) }
        return claimed
    }

    @Test("prune removes finished, delivered jobs older than the cutoff, and nothing queued, running, staged or undelivered", arguments: StoreDriver.allCases)
    func removesExactlyTheOldFinishedJobs(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let store = test.store
        let now = Timestamp.now, old = now.adding(milliseconds: -2 * Self.day)
        // Batch A: succeeded, failed (with an attempt error), and cancelled but not yet delivered.
        let a = try enqueue(store, (0..<3).map { NewJob(handler: "h", input: "a\($0)", maxAttempts: 1) }, batch: NewBatch(source: "a"))
        _ = try finish(store, 1, .succeeded(output: "{}"), at: old)
        _ = try finish(store, 1, .failed(JobError(type: "boom", message: "m"), output: nil), at: old)
        _ = try finish(store, 1, .cancelled(JobError(type: "cancelled", message: "c"), output: nil), at: old, deliver: false)
        // Batch B: all old and done. Batch C: one old and done, one still queued.
        let b = try enqueue(store, (0..<2).map { NewJob(handler: "h", input: "b\($0)") }, batch: NewBatch(source: "b"))
        _ = try finish(store, 2, .succeeded(output: "{}"), at: old)
        let c = try enqueue(store, (0..<2).map { NewJob(handler: "h", input: "c\($0)") }, batch: NewBatch(source: "c"))
        _ = try finish(store, 1, .succeeded(output: "{}"), at: old)
        // No batch: one finished recently, one running, then c[1] and one more stay queued.
        let loose = try enqueue(store, (0..<2).map { NewJob(handler: "h", input: "l\($0)") })
        _ = try claim(store, limit: 1)   // c[1]: now running
        let recentAndRunning = try claim(store, limit: 2)   // loose[0], loose[1]
        _ = try commit(store, [JobOutcome(job: recentAndRunning[0], resolution: .succeeded(output: "{}"), finishedAt: now)])
        let queued = try enqueue(store, [NewJob(handler: "h", input: "q")])
        let batchIDs = try store.batches(limit: 10).map(\.id)
        #expect(batchIDs.count == 3)

        let cutoff = now.adding(milliseconds: -Self.day)
        let dry = try store.pruneFinishedJobs(finishedBefore: cutoff, dryRun: true) { _ in Issue.record("a dry run pruned") }
        #expect(try store.summary().counts.total == 10, "a dry run deleted jobs")
        var reported: [PrunedJob] = []
        let report = try store.pruneFinishedJobs(finishedBefore: cutoff, dryRun: false) { reported += $0 }

        let pruned = [a[0], a[1], b[0], b[1], c[0]]
        #expect(Set(reported.map(\.id)) == Set(pruned))
        #expect(report.jobs == 5 && report.attemptErrors == 1 && report.batches == 1)
        #expect(dry.jobs == report.jobs && dry.attemptErrors == report.attemptErrors && dry.batches == report.batches)
        #expect(dry.bytes == report.bytes && report.bytes > 0)
        for id in pruned {
            #expect(try store.job(id: id) == nil)
            #expect(try store.prunedAt(jobID: id) != nil, "jobs get would say not found for the pruned \(id)")
        }
        for id in [a[2], c[1], loose[0], loose[1], queued[0]] {
            #expect(try store.job(id: id) != nil, "\(id) was pruned")
            #expect(try store.prunedAt(jobID: id) == nil)
        }
        #expect(try job(store, c[1]).status == .running)
        #expect(try store.prunedAt(jobID: "job_01zzzzzzzzzzzzzzzzzzzzzzzz") == nil)
        let remaining = Set(try store.batches(limit: 10).map(\.id))
        let batchA = try #require(try store.job(id: a[2])?.batchID), batchC = try #require(try store.job(id: c[1])?.batchID)
        #expect(remaining == [batchA, batchC])
        #expect(remaining.count == 2, "batch B (emptied) goes; A (an undelivered job) and C (a running job) stay")
        let orphans = try test.count("SELECT COUNT(*) FROM job_attempt_errors WHERE job_seq NOT IN (SELECT seq FROM jobs)")
        #expect(orphans == 0, "the attempt errors of pruned jobs stayed")
        #expect(try store.attempts(ofJob: a[2]).count == 1, "a kept job lost its attempt errors")
    }

    @Test("jobs of a submission still loading are never pruned, nor its batch", arguments: StoreDriver.allCases)
    func loadingBatchIsUntouched(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        var during = PruneReport()
        let future = Timestamp.now.adding(milliseconds: Self.day)
        let summary = try test.store.enqueue(batch: NewBatch(source: "big")) { inserter in
            for index in 0...SQLiteJobStore.rowsPerTransaction { try inserter.insert(NewJob(handler: "h", input: "\(index)")) }
            // The first chunk is in the database now, waiting for its loading batch to go live.
            during = try test.store.pruneFinishedJobs(finishedBefore: future, dryRun: false) { _ in }
        }
        #expect(during.jobs == 0 && during.batches == 0)
        #expect(try test.store.summary().counts.queued == summary.count)
    }

    // SQLite only: the file and its incremental vacuum (PostgreSQL's autovacuum reclaims the space).
    @Test("the database file shrinks after a prune")
    func fileShrinks() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let payload = String(repeating: "x", count: 2000)
        _ = try test.store.enqueue(batch: NewBatch(source: "f")) { inserter in
            for index in 0..<5000 { try inserter.insert(NewJob(handler: "h", input: "\(index) \(payload)")) }
        }
        try markAllFinished(test.queue.sqliteDatabase!, at: Timestamp.now.adding(milliseconds: -Self.day))
        _ = try test.queue.database.incrementalVacuum()   // a checkpoint: the file holds every page
        let before = try test.queue.database.space()
        #expect(before.incrementalVacuum, "a new database must be made with incremental vacuum")
        let report = try test.store.pruneFinishedJobs(finishedBefore: .now, dryRun: false) { _ in }
        #expect(report.jobs == 5000)
        let vacuum = try test.queue.database.incrementalVacuum()
        let after = try test.queue.database.space()
        #expect(vacuum.pages > 0)
        #expect(after.fileBytes < before.fileBytes / 4, "the file went from \(before.fileBytes) to \(after.fileBytes) bytes")
    }

    // SQLite only: it measures the single write lock SQLite shares between processes, which
    // PostgreSQL's row locks do not have.
    @Test("a prune of 1,000,000 finished jobs beside a busy worker delays no claim and expires no lease")
    func pruneBesideWorker() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let count = 1_000_000
        try insertFinished(test.queue.sqliteDatabase!, count: count, at: Timestamp.now.adding(milliseconds: -Self.day))

        let pruning = DispatchSemaphore(value: 0)
        let result = SharedBox<Result<PruneReport, any Error>?>(nil)
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let outcome = Result {
                try test.openAnotherStore().pruneFinishedJobs(finishedBefore: .now, dryRun: false) { _ in started.signal() }
            }
            result.update { $0 = outcome }
            pruning.signal()
        }
        started.wait()   // the prune is under way: the worker runs beside it for all of it
        // A 600 ms lease renewed every 100 ms: a write lock held for half a second would cost a
        // lease, and a job would run twice.
        var options = fastOptions(mode: .forever, concurrency: 3, heartbeatMilliseconds: 100)
        options.leaseMilliseconds = 600
        let pool = WorkerPool(
            store: test.store, handler: ClosureHandler { _, _ in Thread.sleep(forTimeInterval: 0.05); return "{}" },
            sink: CollectingSink(), options: options)
        let running = BackgroundRun(pool)
        // Another process keeps submitting jobs the whole time, one every 20 ms.
        let feeder = try test.openAnotherStore()
        var live: [String] = []
        while pruning.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            live += try enqueue(feeder, [NewJob(handler: "h", input: "live \(live.count)", maxAttempts: 3)])
        }
        let drained = try eventually(within: 60) {
            try live.allSatisfy { try job(test.store, $0).status.isFinished }
        }
        pool.shutdown(graceMilliseconds: 1000)
        let summary = try #require(running.wait(seconds: 30)).get()
        let report = try #require(result.current).get()
        print("pruned \(report.jobs) jobs in \(report.transactions) transactions beside \(live.count) live jobs; largest write-lock hold \(report.largestWriteHoldMilliseconds) ms")
        #expect(drained)
        #expect(report.jobs == count)
        #expect(live.count > 50, "the prune was too quick to test anything")
        #expect(summary.rescued == 0)
        let twice = try live.filter { let stored = try job(test.store, $0); return stored.status != .succeeded || stored.attempts != 1 }
        #expect(twice.isEmpty, "\(twice.count) of \(live.count) live jobs did not succeed on their first attempt")
    }

    /// Inserts `count` succeeded, delivered jobs of one batch, finished at `at`, in one statement.
    func insertFinished(_ database: SQLiteDatabase, count: Int, at: Timestamp) throws {
        try database.write { db, _ in
            try db.execute(
                sql: "INSERT INTO batches (id, source, created_at) VALUES ('bat_old', 'old', ?)", arguments: [at.milliseconds])
            try db.execute(sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
                INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, attempts, status, output,
                                  created_at, started_at, finished_at, delivery_pending)
                SELECT printf('job_old%09d', i), 'bat_old', 'h', 'x', ?1, 3, 1, 'succeeded', '{}', ?1, ?1, ?1, 0 FROM n
                """, arguments: [at.milliseconds, count])
        }
    }

    /// Marks every job succeeded and delivered, finished at `at`: many finished jobs, quickly.
    func markAllFinished(_ database: SQLiteDatabase, at: Timestamp) throws {
        try database.write { db, _ in
            try db.execute(sql: """
                UPDATE jobs SET status = 'succeeded', attempts = 1, output = '{}', started_at = ?1, finished_at = ?1,
                    delivery_pending = 0
                """, arguments: [at.milliseconds])
        }
    }
}
