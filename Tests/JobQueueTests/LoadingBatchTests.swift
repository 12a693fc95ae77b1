import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("A batch still loading")
struct LoadingBatchTests {
    /// What the store showed in the middle of a large submission, after its first chunks were written.
    struct Seen {
        var claimed: [String] = []
        var batchUnfinished = true
        var laneUnfinished = true
        var job: Job?
        var listed: [Job] = []
        var listedQueued: [Job] = []
        var batch: Batch?
        var batchCounts = JobCounts()
        var summaryQueued = -1
        var cancelledByLane: [CancelOutcome] = []
        var cancelledByID: [CancelOutcome] = []
    }

    @Test("its jobs are not claimed, counted, listed or cancelled until it is live; then all of them are",
          arguments: StoreDriver.allCases)
    func invisibleUntilLive(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let store = test.store
        let live = try store.enqueue(batch: NewBatch(source: "live")) { inserter in
            try inserter.insert(NewJob(handler: "h", input: "live"))
        }
        let big = NewBatch(source: "big")
        let total = 2 * SQLiteJobStore.rowsPerTransaction + 10
        let later = Timestamp.now.adding(milliseconds: 86_400_000)
        var ids: [String] = []
        var seen = Seen()
        let summary = try store.enqueue(batch: big) { inserter in
            for index in 0..<total {
                // Higher priority than the live job, due already, some in a session's lane: the
                // first a claim would take if it saw them.
                ids.append(try inserter.insert(NewJob(
                    lane: index % 100 == 0 ? "ses_big" : nil, handler: "h", input: "\(index)",
                    priority: 5, runAt: index % 2 == 0 ? .now.adding(milliseconds: -1000) : nil)))
                guard index == SQLiteJobStore.rowsPerTransaction + 5 else { continue }
                seen.claimed = try store.exchange(ExchangeRequest(workerID: "w", now: later, claimLimit: 50)).claimed.map(\.id)
                seen.batchUnfinished = try store.hasUnfinishedJobs(in: .batch(big.id))
                seen.laneUnfinished = try store.hasUnfinishedJobs(in: .lane("ses_big"))
                seen.job = try store.job(id: ids[0])
                seen.listed = try store.jobs(matching: JobFilter(limit: 10, newestFirst: true))
                seen.listedQueued = try store.jobs(matching: JobFilter(status: .queued))
                seen.batch = try store.batch(id: big.id)
                seen.batchCounts = try store.counts(batchID: big.id)
                seen.summaryQueued = try store.summary().counts.queued
                seen.cancelledByLane = try store.cancel(.lane("ses_big"), now: .now)
                seen.cancelledByID = try store.cancel(.ids([ids[1]]), now: .now)
            }
        }
        #expect(seen.claimed == [try #require(try store.jobs(matching: JobFilter(batchID: live.batchID)).first?.id)],
                "a claim took jobs of the loading batch")
        #expect(!seen.batchUnfinished && !seen.laneUnfinished)
        #expect(seen.job == nil)
        #expect(seen.listed.map(\.batchID) == [live.batchID])
        #expect(seen.listedQueued.isEmpty)
        #expect(seen.batch == nil && seen.batchCounts.total == 0 && seen.summaryQueued == 0)
        #expect(seen.cancelledByLane.isEmpty)
        #expect(seen.cancelledByID.map(\.effect) == [.notFound])

        // Live: every job is there, queued, in its order, with its own priority and run time.
        #expect(summary.count == total)
        #expect(try store.counts(batchID: big.id).queued == total)
        #expect(try store.summary().counts.queued == total)
        #expect(try store.hasUnfinishedJobs(in: .lane("ses_big")))
        let claimed = try store.exchange(ExchangeRequest(workerID: "w", now: later, claimLimit: total + 10)).claimed
        // One job per lane at a time: the lane's later jobs wait for its first.
        let lanes = (0..<total).filter { $0 % 100 == 0 }
        let expected = (0..<total).filter { $0 == 0 || !lanes.contains($0) }.map { ids[$0] }
        #expect(claimed.map(\.id) == expected)
        #expect(claimed.allSatisfy { $0.priority == 5 && $0.attempts == 1 })
    }

    /// An older agentq wrote a loading batch's jobs into `jobs` as `staged` rows. A home it left
    /// with such a batch (its submission killed) is cleaned up by this one all the same.
    @Test("jobs an older version staged are made live, or removed, by the clean-up")
    func stagedRowsOfAnOlderVersion() throws {
        let test = try TestStore(.sqlite)
        defer { test.remove() }
        let store = try #require(test.store as? SQLiteJobStore)
        let perBatch = SQLiteJobStore.rowsPerTransaction + 10
        try store.database.write { db, _ in
            for (batch, state) in [("bat_committing", "committing"), ("bat_loading", "loading")] {
                try db.execute(
                    sql: "INSERT INTO batches (id, source, created_at, state, touched_at) VALUES (?, 'old', 1, ?, 1)",
                    arguments: [batch, state])
                for index in 0..<perBatch {
                    try db.execute(sql: """
                        INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, status, created_at)
                        VALUES (?, ?, 'h', ?, 1, 3, 'staged', 1)
                        """, arguments: ["job_\(batch)_\(index)", batch, "\(index)"])
                }
            }
        }
        #expect(try store.job(id: "job_bat_committing_0") == nil)
        #expect(try store.cleanUpAbandonedSubmissions(now: .now) == 2)
        #expect(try store.counts(batchID: "bat_committing").queued == perBatch)
        #expect(try store.jobs(matching: JobFilter(status: .queued, batchID: "bat_committing")).count == perBatch)
        #expect(try store.batch(id: "bat_committing") != nil)
        #expect(try store.batch(id: "bat_loading") == nil)
        let left = try store.database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE batch_id = 'bat_loading' OR status = 'staged'") ?? -1
        }
        #expect(left == 0)
    }
}
