import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// A worker whose database is locked by another process for longer than its busy timeout
    /// keeps its jobs and carries on when the lock is gone: nothing fails as `internal_error`.
    @Suite struct DatabaseOutageTests {
        /// A python3 process that holds the database's write lock for `seconds`, once it says "locked".
        static func holdWriteLock(_ database: String, seconds: Double) throws -> Process {
            let script = """
                import sqlite3, sys, time
                c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
                c.execute('BEGIN EXCLUSIVE')
                print('locked', flush=True)
                time.sleep(float(sys.argv[2]))
                c.execute('COMMIT')
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, database, String(seconds)]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = out.fileHandleForReading.availableData
            try #require(String(decoding: line, as: UTF8.self).contains("locked"), "the lock holder did not start")
            return process
        }

        @Test func aWorkerRidesOutALockedDatabase() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "slow", "provider": "echo", "model": "echo", "options": {"latency_ms": 2000}}"#)
            let file = try cli.write(#"{"custom_id": "bulk", "input": "hello", "agent": "slow"}"# + "\n", to: "one.jsonl")
            let (batch, _) = try cli.submit(file)
            let session = try cli.runOK(["sessions", "create", "slow", "--input", "remember this", "--no-wait"])
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(session.hasPrefix("job_"), "expected the turn's job ID, got \(session)")

            let worker = try AgentQProcess.start(
                ["worker", "--concurrency", "2", "--lease", "30"], home: cli.home,
                environment: ["AGENTQ_BUSY_TIMEOUT": "0.5"])
            defer { stopIfRunning(worker) }
            let running = try eventually(within: 20) {
                try cli.jsonArray(["jobs", "list", "--status", "running", "--json"]).count == 2
            }
            try #require(running, "the two jobs never ran; worker: \(worker.stderrSoFar)")
            // Both turns end (and want to write) while the database is locked, 8 s in all.
            let holder = try Self.holdWriteLock(cli.home + "/agentq.db", seconds: 8)
            holder.waitUntilExit()
            #expect(worker.process.isRunning, "the worker died while the database was locked: \(worker.stderrSoFar)")

            let done = try eventually(within: 30) {
                try cli.jsonArray(["jobs", "list", "--json"]).allSatisfy { $0["status"] as? String == "succeeded" }
            }
            let jobs = try cli.jsonArray(["jobs", "list", "--json"])
            #expect(done, "jobs: \(jobs.map { "\($0["status"] ?? "?") \(String(describing: $0["error"]))" }); worker: \(worker.stderrSoFar.suffix(800))")
            #expect(!jobs.contains { errorType($0) == "internal_error" })
            #expect(try cli.jobIDs(batch: batch).count == 1)

            // And it carries on: a job submitted afterwards runs too.
            let (later, _) = try cli.submit(try cli.write(#"{"input": "after"}"# + "\n", to: "after.jsonl"))
            let ranLater = try eventually(within: 20) {
                try cli.jobs(batch: later).first?["status"] as? String == "succeeded"
            }
            #expect(ranLater, "worker: \(worker.stderrSoFar.suffix(800))")
            worker.signal(SIGTERM)
            #expect(worker.wait().exitCode == 0)
        }
    }
}
