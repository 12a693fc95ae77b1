import AgentQ
import AgentQTesting
import JobQueue
import Foundation
import Testing

extension MultiProcess {
    /// A bulk submit of a million lines must not make live jobs look dead: no lease expires
    /// while it writes, so no paid model call runs twice.
    @Suite struct LongSubmitTests {
        static let bigLines = 1_000_000

        /// `lines` bulk lines at priority -1, written straight to a file.
        static func writeBigFile(_ cli: CLIHome, name: String, lines: Int) throws -> String {
            var text = ""
            text.reserveCapacity(lines * 40)
            for index in 0..<lines { text += "{\"input\":\"filler \(index)\",\"priority\":-1}\n" }
            return try cli.write(text, to: name)
        }

        @Test func runningJobsSurviveTwoMillionLineSubmitsWithoutRunningTwice() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "slow", "provider": "echo", "model": "echo", "options": {"latency_ms": 1500}}"#)
            let lines = (0..<40).map { ["custom_id": "live-\($0)", "input": "job \($0)", "agent": "slow"] as [String: Any] }
            let (batch, _) = try cli.submit(try cli.write(try jsonLines(lines), to: "live.jsonl"))
            let big = try (0..<2).map { try Self.writeBigFile(cli, name: "big\($0).jsonl", lines: Self.bigLines) }

            // Two workers, four jobs in flight at once: the 40 jobs take about 15 s, as long as the submits.
            let workers = try (0..<2).map { _ in
                try cli.start(["worker", "--lease", "3", "--concurrency", "2", "--grace", "1"])
            }
            defer { workers.forEach(stopIfRunning) }
            let submits = try big.map { try cli.start(["submit", $0, "--agent", "echo", "--json"]) }
            for (index, submit) in submits.enumerated() {
                let output = submit.wait()
                #expect(output.exitCode == 0, "submit \(index): \(output.stderr)")
                #expect(output.stdout.contains("\"jobs\":\(Self.bigLines)"), "submit \(index): \(output.stdout)")
            }
            let finished = try eventually(within: 120) {
                try cli.jobs(batch: batch).allSatisfy { ["succeeded", "failed", "cancelled"].contains($0["status"] as? String) }
            }
            #expect(finished, "the 40 jobs did not finish")
            for worker in workers { worker.signal(SIGTERM) }
            let logs = workers.map { $0.wait().stderr }

            let jobs = try cli.jobs(batch: batch)
            #expect(jobs.count == 40)
            let twice = jobs.filter { ($0["attempts"] as? Int) != 1 || ($0["status"] as? String) != "succeeded" }
            let notOnce = twice.count
            #expect(notOnce == 0, """
                \(twice.count) of 40 jobs did not succeed on their first attempt: \
                \(twice.prefix(3).map { "\($0["custom_id"] ?? "?") \($0["status"] ?? "?") attempts \($0["attempts"] ?? "?")" }); \
                worker logs: \(logs.joined(separator: " | ").suffix(600))
                """)
        }
    }
}

extension MultiProcess.LongSubmitTests {
    @Test func aSubmitKilledHalfWayLeavesNothingClaimableAndIsCleanedUp() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let big = try Self.writeBigFile(cli, name: "big.jsonl", lines: Self.bigLines)
        _ = try cli.runOK(["agents", "list"])   // the home exists before the submit starts
        let database = try SQLiteDatabase(path: cli.home + "/agentq.db", migrations: AgentQueue.migrations)
        let submit = try cli.start(["submit", big, "--json"])
        defer { stopIfRunning(submit) }
        // Kill it once some of its jobs are written (as chunks of the loading batch).
        let writing = try eventually(within: 60) {
            try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_chunks") ?? 0 } > 2
        }
        try #require(writing, "the submit never started writing")
        submit.signal(SIGKILL)
        _ = submit.wait()

        let state = try database.read { db in try String.fetchOne(db, sql: "SELECT state FROM batches") }
        #expect(state == "loading", "the kill came too late to test anything: the batch is \(state ?? "gone")")
        // Nothing of it is visible or claimable.
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty)
        #expect(try cli.jsonArray(["batch", "list", "--json"]).isEmpty)
        let once = try cli.run(["worker", "--once"])
        #expect(once.exitCode == 0, "stderr: \(once.stderr)")
        #expect(try cli.resultFiles().isEmpty, "a worker ran a job of the half-written batch")

        // Once abandoned for a minute, any worker's maintenance removes it.
        let store = SQLiteJobStore(database: database)
        #expect(try store.cleanUpAbandonedSubmissions(now: Timestamp.now.adding(milliseconds: 61_000)) == 1)
        let left = try database.read { db in
            try Int.fetchOne(db, sql: """
                SELECT (SELECT COUNT(*) FROM jobs) + (SELECT COUNT(*) FROM batches) + (SELECT COUNT(*) FROM batch_chunks)
                """) ?? -1
        }
        #expect(left == 0)
    }

    /// Killed once its last line was checked, while its chunks become jobs: the batch is
    /// committed, so it goes live whole, every job exactly once.
    @Test func aSubmitKilledWhileGoingLiveIsFinishedWithEveryJobOnce() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let big = try Self.writeBigFile(cli, name: "big.jsonl", lines: Self.bigLines)
        _ = try cli.runOK(["agents", "list"])
        let database = try SQLiteDatabase(path: cli.home + "/agentq.db", migrations: AgentQueue.migrations)
        let submit = try cli.start(["submit", big, "--json"])
        defer { stopIfRunning(submit) }
        let goingLive = try eventually(within: 60) {
            try database.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0 > 20_000
            }
        }
        try #require(goingLive, "the submit never started making its jobs live")
        submit.signal(SIGKILL)
        _ = submit.wait()
        let (state, live) = try database.read { db in
            (try String.fetchOne(db, sql: "SELECT state FROM batches"), try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0)
        }
        #expect(state == "committing" && live < Self.bigLines, "the kill came too late to test anything: \(state ?? "gone"), \(live) jobs")

        let store = SQLiteJobStore(database: database)
        #expect(try store.cleanUpAbandonedSubmissions(now: Timestamp.now.adding(milliseconds: 61_000)) == 1)
        let (jobs, distinct, chunks, batchState) = try database.read { db in
            (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'queued'") ?? -1,
             try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT input) FROM jobs") ?? -1,
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_chunks") ?? -1,
             try String.fetchOne(db, sql: "SELECT state FROM batches"))
        }
        #expect(jobs == Self.bigLines && distinct == Self.bigLines && chunks == 0 && batchState == "live")
        let listed = try cli.jsonArray(["batch", "list", "--json"])
        #expect(listed.count == 1, "batch list: \(listed)")
        let batch = try #require(try database.read { db in try String.fetchOne(db, sql: "SELECT id FROM batches") })
        #expect(try store.counts(batchID: batch).queued == Self.bigLines)
    }

    /// A batch going live is listed, so it can be cancelled: the cancel reaches the jobs still
    /// in its chunks too, not only those already queued.
    @Test func cancellingABatchWhileItGoesLiveCancelsEveryJob() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let lines = 60_000
        let big = try Self.writeBigFile(cli, name: "big.jsonl", lines: lines)
        _ = try cli.runOK(["agents", "list"])
        let database = try SQLiteDatabase(path: cli.home + "/agentq.db", migrations: AgentQueue.migrations)
        let submit = try cli.start(["submit", big, "--json"])
        defer { stopIfRunning(submit) }
        let goingLive = try eventually(within: 60) {
            try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") ?? 0 > 0 }
        }
        try #require(goingLive, "the submit never started making its jobs live")
        submit.signal(SIGKILL)
        _ = submit.wait()
        let batch = try #require(try database.read { db in
            try String.fetchOne(db, sql: "SELECT id FROM batches WHERE state = 'committing'")
        }, "the kill came too late to test anything")

        let cancel = try cli.run(["batch", "cancel", batch])
        #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
        let (statuses, chunks, state) = try database.read { db in
            (try String.fetchAll(db, sql: "SELECT status || '=' || COUNT(*) FROM jobs GROUP BY status"),
             try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batch_chunks") ?? -1,
             try String.fetchOne(db, sql: "SELECT state FROM batches"))
        }
        #expect(statuses == ["cancelled=\(lines)"] && chunks == 0 && state == "live")
        let store = SQLiteJobStore(database: database)
        #expect(try store.counts(batchID: batch).cancelled == lines)
        #expect(try store.cleanUpAbandonedSubmissions(now: Timestamp.now.adding(milliseconds: 61_000)) == 0)
    }
}
