import AgentQ
import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

/// The batch counts and usage totals the database keeps (`batch_job_counts`, `batch_usage`)
/// against what a plain scan of the jobs gives, through every kind of change a job goes
/// through, and on a home that had jobs before the counters existed.
@Suite("Batch counts and usage kept by the database")
struct BatchCountsTests {
    /// The counts of a batch by a plain scan of its jobs, as `batch status` computed them before.
    static func scannedCounts(_ batchID: String, _ database: SQLiteDatabase) throws -> JobCounts {
        try database.read { db in
            var counts = JobCounts()
            for row in try Row.fetchAll(
                db, sql: "SELECT status, COUNT(*) FROM jobs WHERE batch_id = ? GROUP BY status", arguments: [batchID])
            {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }

    /// The usage of a batch by parsing every output, as `batch status` computed it before.
    static func scannedUsage(_ batchID: String, _ database: SQLiteDatabase) throws -> TokenUsage {
        try database.read { db in
            let row = try #require(try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(json_extract(output, '$.usage.input_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.output_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cached_input_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cache_write_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.reasoning_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cost_usd')), 0.0)
                FROM jobs WHERE batch_id = ? AND output IS NOT NULL AND json_valid(output)
                """, arguments: [batchID]))
            return TokenUsage(
                inputTokens: row[0], outputTokens: row[1], cachedInputTokens: row[2], cacheWriteTokens: row[3],
                reasoningTokens: row[4], costUSD: row[5])
        }
    }

    /// Every batch's counts, usage and `batch status --json` document equal the scan's.
    static func expectAgreement(_ queue: AgentQueue, _ batchIDs: [String], _ step: String,
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        for batchID in batchIDs {
            let scanned = try scannedCounts(batchID, queue.sqliteDatabase!)
            #expect(try queue.store.counts(batchID: batchID) == scanned, "\(step): counts of \(batchID)",
                    sourceLocation: sourceLocation)
            let usage = try queue.budgets.usage(batchID: batchID)
            let scannedUsage = try scannedUsage(batchID, queue.sqliteDatabase!)
            #expect(usage.jsonText == scannedUsage.jsonText, "\(step): usage of \(batchID)", sourceLocation: sourceLocation)
            if let batch = try queue.store.batch(id: batchID) {
                var expected = batch
                expected.counts = scanned
                #expect(BatchDocument.json(for: batch, usage: usage) == BatchDocument.json(for: expected, usage: scannedUsage),
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// An output as a turn writes it, with its usage (costs exact in binary, so a sum of
    /// doubles in any order gives the same figure as the integer micro-dollars).
    static func output(_ index: Int) -> String {
        TurnResult(
            response: "answer \(index)", toolCalls: [],
            usage: TokenUsage(
                inputTokens: 10 + index % 7, outputTokens: 3 + index % 5, cachedInputTokens: index % 3,
                cacheWriteTokens: index % 2, reasoningTokens: index % 4, costUSD: [0.25, 0.5, 0.125, 0.0625][index % 4]),
            steps: 1
        ).jsonText
    }

    @Test("counts and usage equal a scan after submits, claims, every outcome, cancels, retries, rescues and a prune")
    func agreeThroughEveryChange() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let queue = test.queue
        let store = queue.store
        // A small batch (one transaction, queued at once), a large one (staged in chunks, then
        // made live), and jobs of no batch (a session's turns), which no counter sees.
        let small = try store.enqueue(batch: NewBatch(source: "small")) { inserter in
            for index in 0..<40 { try inserter.insert(NewJob(handler: "echo", input: "s\(index)")) }
        }
        let large = try store.enqueue(batch: NewBatch(source: "large")) { inserter in
            for index in 0..<(SQLiteJobStore.rowsPerTransaction + 500) {
                try inserter.insert(NewJob(handler: "echo", input: "l\(index)"))
            }
        }
        _ = try store.enqueue(batch: nil) { inserter in
            for index in 0..<10 { try inserter.insert(NewJob(lane: "ses_x", handler: "echo", input: "n\(index)")) }
        }
        let batches = [try #require(small.batchID), try #require(large.batchID)]
        try Self.expectAgreement(queue, batches, "submitted")

        // Claim a mix, then end them every way a worker can.
        let claimed = try store.exchange(ExchangeRequest(workerID: "w1", now: .now, claimLimit: 300)).claimed
        try Self.expectAgreement(queue, batches, "claimed")
        var outcomes: [JobOutcome] = []
        for (index, job) in claimed.enumerated() {
            let error = JobError(type: "agent_error", message: "boom \(index)")
            switch index % 6 {
            case 0, 1: outcomes.append(JobOutcome(job: job, resolution: .succeeded(output: Self.output(index))))
            case 2: outcomes.append(JobOutcome(job: job, resolution: .failed(error, output: Self.output(index))))
            case 3: outcomes.append(JobOutcome(job: job, resolution: .cancelled(error, output: nil)))
            case 4: outcomes.append(JobOutcome(job: job, resolution: .retry(error, at: .now, output: Self.output(index))))
            default: break   // left running
            }
        }
        _ = try store.exchange(ExchangeRequest(workerID: "w1", now: .now, outcomes: outcomes))
        try Self.expectAgreement(queue, batches, "outcomes")

        // A worker that died: its leases run out and the jobs go back (or fail, out of attempts).
        _ = try store.exchange(ExchangeRequest(workerID: "w2", now: .now, claimLimit: 50, leaseMilliseconds: 1))
        _ = try store.rescueExpiredLeases(now: Timestamp.now.adding(milliseconds: 60_000))
        try Self.expectAgreement(queue, batches, "rescued")

        // The user: retries the failed and cancelled, cancels the small batch.
        let retryable = try store.jobs(matching: JobFilter(status: .failed)) + store.jobs(matching: JobFilter(status: .cancelled))
        _ = try store.retry(ids: retryable.map(\.id), now: .now)
        try Self.expectAgreement(queue, batches, "retried")
        _ = try queue.cancel(.batch(batches[0]))
        try Self.expectAgreement(queue, batches, "cancelled")

        // Finish some more, then prune every finished job.
        let more = try store.exchange(ExchangeRequest(workerID: "w3", now: .now, claimLimit: 100)).claimed
        _ = try store.exchange(ExchangeRequest(workerID: "w3", now: .now, outcomes: more.enumerated().map {
            JobOutcome(job: $0.element, resolution: .succeeded(output: Self.output($0.offset)), delivered: true)
        }))
        try queue.writePendingResults()
        try Self.expectAgreement(queue, batches, "finished more")
        _ = try store.pruneFinishedJobs(finishedBefore: Timestamp.now.adding(milliseconds: 60_000), dryRun: false) { _ in }
        try Self.expectAgreement(queue, batches, "pruned")
        #expect(try store.counts(batchID: batches[1]).succeeded == 0)
    }

    @Test("odd usage in outputs (numbers as text, booleans, objects, a scalar, not JSON) adds what a scan of the outputs adds")
    func oddUsageAgreesWithTheScan() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let outputs = [
            #"{"usage":{"input_tokens":"12","output_tokens":true,"cost_usd":"0.5"}}"#,
            #"{"usage":{"input_tokens":{"nested":1},"output_tokens":[2],"reasoning_tokens":null,"cost_usd":0.125}}"#,
            #"{"usage":7,"response":"usage"}"#,
            #"{"usage":{"input_tokens":1e3,"cached_input_tokens":-4,"cache_write_tokens":2.5,"cost_usd":1e-6}}"#,
            #"not json "usage""#,
            #"{"response":"no totals","usage":{}}"#,
            #"{"usage":{"input_tokens":3,"cost_usd":0.25}}"#,
        ]
        let summary = try test.store.enqueue(batch: NewBatch(source: "odd")) { inserter in
            for index in outputs.indices { try inserter.insert(NewJob(handler: "echo", input: "o\(index)")) }
        }
        let batchID = try #require(summary.batchID)
        let claimed = try test.store.exchange(ExchangeRequest(workerID: "w", now: .now, claimLimit: outputs.count)).claimed
        #expect(claimed.count == outputs.count)
        let error = JobError(type: "agent_error", message: "odd")
        _ = try test.store.exchange(ExchangeRequest(workerID: "w", now: .now, outcomes: claimed.enumerated().map {
            JobOutcome(job: $0.element, resolution: $0.offset % 2 == 0
                ? .succeeded(output: outputs[$0.offset]) : .failed(error, output: outputs[$0.offset]))
        }))
        try Self.expectAgreement(test.queue, [batchID], "odd outputs written")
        #expect(try test.queue.budgets.usage(batchID: batchID).inputTokens == 12 + 1000 + 3)
        // The failed ones retried by hand: their outputs are taken back.
        let failed = try test.store.jobs(matching: JobFilter(status: .failed, batchID: batchID))
        #expect(failed.count == outputs.count / 2)
        _ = try test.store.retry(ids: failed.map(\.id), now: .now)
        try Self.expectAgreement(test.queue, [batchID], "failed ones retried")
    }

    @Test("a second connection sees the counts the first one changed")
    func anotherProcessSeesTheCounts() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let summary = try test.store.enqueue(batch: NewBatch(source: "t")) { inserter in
            for index in 0..<20 { try inserter.insert(NewJob(handler: "echo", input: "\(index)")) }
        }
        let other = try test.openAnotherStore()
        let claimed = try other.exchange(ExchangeRequest(workerID: "other", now: .now, claimLimit: 5)).claimed
        _ = try other.exchange(ExchangeRequest(workerID: "other", now: .now, outcomes: claimed.prefix(3).map {
            JobOutcome(job: $0, resolution: .succeeded(output: Self.output(1)))
        }))
        let batchID = try #require(summary.batchID)
        let counts = try test.store.counts(batchID: batchID)
        #expect(counts.queued == 15 && counts.running == 2 && counts.succeeded == 3)
        #expect(try test.queue.budgets.usage(batchID: batchID).inputTokens == 3 * 11)
    }

    @Test("opening a home that had jobs before the counters counts them once")
    func migrationCountsExistingJobs() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-home")
        defer { directory.remove() }
        let home = AgentQHome(root: directory.url)
        try home.prepare()
        // The schema as the previous version left it, with jobs in every status.
        let newer: Set<String> = [
            "jobqueue-5-batch-counts", "jobqueue-6-unsuccessful-index", "agentq-batch-usage-totals", "jobqueue-7-batch-counts-by-writers",
            "agentq-batch-usage-by-store",
        ]
        let older = AgentQueue.migrations.filter { !newer.contains($0.name) }
        #expect(older.count == AgentQueue.migrations.count - newer.count)
        let batchIDs = ["bat_old1", "bat_old2"]
        do {
            let database = try SQLiteDatabase(path: home.databasePath, migrations: older)
            try database.write { db, _ in
                for batchID in batchIDs {
                    try db.execute(sql: "INSERT INTO batches (id, source, created_at) VALUES (?, 'old', 1)", arguments: [batchID])
                }
                let statuses = ["queued", "running", "succeeded", "failed", "cancelled", "succeeded", "staged"]
                for index in 0..<700 {
                    let status = statuses[index % statuses.count]
                    let output: String? = ["succeeded", "failed"].contains(status) ? Self.output(index)
                        : status == "cancelled" ? "not json" : nil
                    try db.execute(sql: """
                        INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, status, created_at, output)
                        VALUES (?, ?, 'echo', 'x', 1, 3, ?, 1, ?)
                        """, arguments: ["job_old\(index)", batchIDs[index % 2], status, output])
                }
            }
        }
        let queue = try AgentQueue(home: home)
        try Self.expectAgreement(queue, batchIDs, "migrated")
        #expect(try queue.store.counts(batchID: "bat_old1").total == 300)
        // And the counting runs from there.
        let claimed = try queue.store.exchange(ExchangeRequest(workerID: "w", now: .now, claimLimit: 1000)).claimed
        _ = try queue.store.exchange(ExchangeRequest(workerID: "w", now: .now, outcomes: claimed.map {
            JobOutcome(job: $0, resolution: .succeeded(output: Self.output(2)))
        }))
        try Self.expectAgreement(queue, batchIDs, "after the migration")
    }

    @Test("jobs lists by status equal a scan of the table, newest first and in batch order")
    func listsByStatusEqualAScan() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let store = test.store
        let summary = try store.enqueue(batch: NewBatch(source: "t")) { inserter in
            for index in 0..<300 { try inserter.insert(NewJob(handler: "echo", input: "\(index)")) }
        }
        _ = try store.enqueue(batch: nil) { inserter in
            for index in 0..<30 { try inserter.insert(NewJob(handler: "echo", input: "n\(index)")) }
        }
        let claimed = try store.exchange(ExchangeRequest(workerID: "w", now: .now, claimLimit: 200)).claimed
        _ = try store.exchange(ExchangeRequest(workerID: "w", now: .now, outcomes: claimed.enumerated().compactMap { index, job in
            let error = JobError(type: "agent_error", message: "boom")
            switch index % 4 {
            case 0: return JobOutcome(job: job, resolution: .succeeded(output: "{}"))
            case 1: return JobOutcome(job: job, resolution: .failed(error, output: nil))
            case 2: return JobOutcome(job: job, resolution: .cancelled(error, output: nil))
            default: return nil
            }
        }))
        let batchID = try #require(summary.batchID)
        for status in JobStatus.allCases {
            for (batch, newestFirst) in [(nil, true), (batchID, false)] as [(String?, Bool)] {
                for limit in [7, 1000] {
                    let listed = try store.jobs(matching: JobFilter(status: status, batchID: batch, limit: limit, newestFirst: newestFirst))
                    let scanned = try test.queue.sqliteDatabase!.read { db in
                        try String.fetchAll(db, sql: """
                            SELECT id FROM jobs WHERE status = ? AND (?2 IS NULL OR batch_id = ?2)
                            ORDER BY seq \(newestFirst ? "DESC" : "") LIMIT ?3
                            """, arguments: [status.rawValue, batch, limit])
                    }
                    #expect(listed.map(\.id) == scanned, "\(status) batch=\(batch ?? "-") limit=\(limit)")
                    #expect(!scanned.isEmpty)
                }
            }
        }
    }
}
