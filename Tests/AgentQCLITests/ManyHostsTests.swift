import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// Two homes on one PostgreSQL database: two "hosts" with their own host IDs, result files
    /// and workspaces, sharing one queue.
    @Suite struct ManyHostsTests {
        /// A 5,000-job batch drained by the workers of both hosts, one of them killed with
        /// SIGKILL mid-run and started again: every job succeeds exactly once, with at most two
        /// attempts, and has exactly one result file across the two homes.
        @Test func aBatchDrainedByTwoHostsOneKilledRunsEveryJobExactlyOnce() throws {
            let url = try PostgresTestServer.freshDatabase()
            let a = try CLIHost(databaseURL: url), b = try CLIHost(databaseURL: url)
            defer { a.remove(); b.remove() }
            let agent = try a.cli.write(
                #"{"name": "quick", "provider": "echo", "model": "echo", "options": {"latency_ms": 20}}"#, to: "quick.json")
            _ = try a.runOK(["agents", "add", agent])
            let count = 5000
            let lines = (1...count).map { #"{"custom_id": "c\#($0)", "input": "job \#($0)"}"# }.joined(separator: "\n") + "\n"
            let report = try #require(try a.json(["submit", try a.cli.write(lines, to: "big.jsonl"), "--agent", "quick", "--json"])
                as? [String: Any])
            let batchID = try #require(report["batch_id"] as? String)
            #expect(report["jobs"] as? Int == count)

            let workerA = try a.start(["worker", "--drain", "--concurrency", "8", "--lease", "2"])
            defer { stopIfRunning(workerA) }
            let firstB = try b.start(["worker", "--concurrency", "8", "--lease", "2"])
            defer { stopIfRunning(firstB) }
            let bWorked = try eventually(within: 60) { try b.cli.resultFiles().count >= 300 }
            try #require(bWorked, "host B never finished 300 jobs; stderr: \(firstB.stderrSoFar)")
            firstB.signal(SIGKILL)
            _ = firstB.wait()
            #expect(firstB.process.terminationReason == .uncaughtSignal)
            let doneAtKill = try a.cli.resultFiles().count + b.cli.resultFiles().count
            try #require(doneAtKill < count, "the batch was done before the kill")

            let secondB = try b.start(["worker", "--drain", "--concurrency", "8", "--lease", "2"])
            defer { stopIfRunning(secondB) }
            let exitA = workerA.wait(), exitB = secondB.wait()
            #expect(exitA.exitCode == 0, "host A's worker: \(exitA.stderr)")
            #expect(exitB.exitCode == 0, "host B's worker: \(exitB.stderr)")

            // Every job succeeded once; a job the killed worker held ran a second time, no more.
            let jobs = try #require(try b.json(["jobs", "list", "--batch", batchID, "--limit", "100000", "--json"]) as? [[String: Any]])
            #expect(jobs.count == count)
            let ids = Set(jobs.compactMap { $0["job_id"] as? String })
            #expect(ids.count == count)
            let notSucceeded = jobs.filter { $0["status"] as? String != "succeeded" }
            #expect(notSucceeded.isEmpty, "\(notSucceeded.count) not succeeded, e.g. \(notSucceeded.prefix(3))")
            let tooMany = jobs.filter { ($0["attempts"] as? Int ?? 99) > 2 }
            #expect(tooMany.isEmpty, "\(tooMany.count) with more than 2 attempts, e.g. \(tooMany.prefix(3))")

            // One result file per job, in the home of the host that finished it.
            let filesA = Set(try a.cli.resultFiles()), filesB = Set(try b.cli.resultFiles())
            // Results are written after the commit, by the host that finished the job: a killed
            // host keeps no file of an attempt that never committed.
            #expect(filesA.intersection(filesB).isEmpty, "written on both hosts: \(filesA.intersection(filesB).prefix(5))")
            #expect(filesA.union(filesB) == Set(ids.map { "\($0).json" }),
                    "A \(filesA.count) + B \(filesB.count) files for \(count) jobs")
            #expect(!filesA.isEmpty && !filesB.isEmpty)
        }

        /// `jobs cancel` on host B stops a job running on host A within 2 s.
        @Test func aJobRunningOnOneHostIsCancelledFromTheOtherWithinTwoSeconds() throws {
            let url = try PostgresTestServer.freshDatabase()
            let a = try CLIHost(databaseURL: url), b = try CLIHost(databaseURL: url)
            defer { a.remove(); b.remove() }
            _ = try a.runOK(["agents", "add", try a.cli.write(slowAgent, to: "slow.json")])
            let file = try a.cli.write(#"{"custom_id": "long", "input": "take your time"}"# + "\n", to: "one.jsonl")
            let report = try #require(try a.json(["submit", file, "--agent", "slow", "--json"]) as? [String: Any])
            let batchID = try #require(report["batch_id"] as? String)
            let jobs = try #require(try b.json(["jobs", "list", "--batch", batchID, "--json"]) as? [[String: Any]])
            let jobID = try #require(jobs.first?["job_id"] as? String)

            let worker = try a.start(["worker", "--concurrency", "1"])
            defer { stopIfRunning(worker) }
            func job() throws -> [String: Any] { try #require(try b.json(["jobs", "get", jobID, "--json"]) as? [String: Any]) }
            let running = try eventually(within: 15) { try job()["status"] as? String == "running" }
            try #require(running, "the job never started on host A; stderr: \(worker.stderrSoFar)")

            let cancelStarted = Date()
            let cancel = try b.run(["jobs", "cancel", jobID])
            #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
            #expect(cancel.stdout.contains("cancel requested"), "stdout: \(cancel.stdout)")
            var last: [String: Any] = [:]
            let cancelled = try eventually(within: 10) {
                last = try job()
                return last["status"] as? String == "cancelled"
            }
            #expect(cancelled, "still \(last["status"] ?? "?") 10 s after the cancel")
            // When it became cancelled: its finished_at, written by host A's worker that stopped it.
            let finishedAt = try #require((last["finished_at"] as? String).flatMap(ISO8601DateFormatter.withFraction.date(from:)))
            let elapsed = finishedAt.timeIntervalSince(cancelStarted)
            #expect(elapsed <= 2.0, "the job reached cancelled \(elapsed) s after `jobs cancel` on host B started")
            #expect(eventually(within: 5) { a.cli.resultFileExists(jobID: jobID) }, "no result file on host A")
            #expect(!b.cli.resultFileExists(jobID: jobID))
        }

        /// A session created on host A and sent a turn from host B (a worker on each) runs the
        /// turn on A, where its workspace is; `sessions list` on B shows A as its host.
        @Test func aSessionsTurnSentFromAnotherHostRunsWhereItsWorkspaceIs() throws {
            let url = try PostgresTestServer.freshDatabase()
            let a = try CLIHost(databaseURL: url), b = try CLIHost(databaseURL: url)
            defer { a.remove(); b.remove() }
            let id = try a.runOK(["sessions", "create", "echo"]).trimmingCharacters(in: .whitespacesAndNewlines)
            let hostA = try a.hostID()
            _ = try b.runOK(["stats"])   // B gets its own host ID
            #expect(try b.hostID() != hostA)
            let listed = try #require(try b.json(["sessions", "list", "--json"]) as? [[String: Any]])
            #expect(listed.first(where: { $0["session_id"] as? String == id })?["host"] as? String == hostA, "\(listed)")
            #expect(try b.runOK(["sessions", "list"]).contains(hostA))

            let workerA = try a.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(workerA) }
            let workerB = try b.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(workerB) }
            let sent = try #require(try b.json(["sessions", "send", id, "--input", "hello from B", "--json"]) as? [String: Any])
            let jobID = try #require(sent["job_id"] as? String)
            let turn = try #require(sent["turn"] as? [String: Any])
            #expect(turn["status"] as? String == "succeeded", "\(sent)")
            #expect(turn["response"] as? String == "echo: hello from B", "\(sent)")
            // Host A's worker ran it: the result file is in A's home, and only there.
            #expect(eventually(within: 5) { a.cli.resultFileExists(jobID: jobID) }, "no result file on host A")
            #expect(!b.cli.resultFileExists(jobID: jobID), "host B ran (or delivered) the turn")
            #expect(FileManager.default.fileExists(atPath: a.cli.home + "/workspaces/\(id)"))
            #expect(!FileManager.default.fileExists(atPath: b.cli.home + "/workspaces/\(id)"))
        }

        /// Bulk lines naming sessions follow the sessions' hosts too: a session a line starts
        /// records the host whose worker made its workspace, and a line submitted on host B for
        /// a session of host A runs on A.
        @Test func bulkLinesNamingASessionRunWhereItsWorkspaceIs() throws {
            let url = try PostgresTestServer.freshDatabase()
            let a = try CLIHost(databaseURL: url), b = try CLIHost(databaseURL: url)
            defer { a.remove(); b.remove() }
            let created = try a.runOK(["sessions", "create", "echo"]).trimmingCharacters(in: .whitespacesAndNewlines)
            let hostA = try a.hostID()
            _ = try b.runOK(["stats"])

            /// Submits `lines` on B and waits for the batch to succeed: its job IDs.
            func submitOnB(_ lines: String, name: String) throws -> [String] {
                let report = try #require(try b.json(["submit", try b.cli.write(lines, to: name), "--agent", "echo", "--json"])
                    as? [String: Any])
                let batchID = try #require(report["batch_id"] as? String)
                var jobs: [[String: Any]] = []
                let done = try eventually(within: 30) {
                    jobs = try #require(try b.json(["jobs", "list", "--batch", batchID, "--json"]) as? [[String: Any]])
                    return !jobs.isEmpty && jobs.allSatisfy { $0["status"] as? String == "succeeded" }
                }
                try #require(done, "batch \(batchID) did not succeed: \(jobs)")
                return jobs.compactMap { $0["job_id"] as? String }
            }

            // Only A has a worker: the line's new session is started there and says so.
            let workerA = try a.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(workerA) }
            _ = try submitOnB(#"{"session": "fresh-1", "input": "first"}"# + "\n", name: "first.jsonl")
            let listed = try #require(try b.json(["sessions", "list", "--json"]) as? [[String: Any]])
            #expect(listed.first(where: { $0["session_id"] as? String == "fresh-1" })?["host"] as? String == hostA, "\(listed)")

            // With only B's worker running, lines for both sessions wait for A; once A's worker
            // is back they run there, and only there.
            stopIfRunning(workerA)
            let workerB = try b.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(workerB) }
            let lines = (1...6).map { #"{"session": "\#($0 % 2 == 0 ? created : "fresh-1")", "input": "turn \#($0)"}"# }
            let waiting = try #require(try b.json(["submit", try b.cli.write(lines.joined(separator: "\n") + "\n", to: "more.jsonl"),
                                                   "--agent", "echo", "--json"]) as? [String: Any])
            let batchID = try #require(waiting["batch_id"] as? String)
            Thread.sleep(forTimeInterval: 1.5)   // B's worker polls every 0.1 s and is woken by the submit
            let untouched = try #require(try b.json(["jobs", "list", "--batch", batchID, "--json"]) as? [[String: Any]])
            #expect(untouched.allSatisfy { $0["status"] as? String == "queued" }, "host B took a turn of host A's sessions: \(untouched)")
            let workerA2 = try a.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(workerA2) }
            var jobs: [[String: Any]] = []
            let finished = try eventually(within: 30) {
                jobs = try #require(try b.json(["jobs", "list", "--batch", batchID, "--json"]) as? [[String: Any]])
                return jobs.allSatisfy { $0["status"] as? String == "succeeded" }
            }
            #expect(finished, "\(jobs)")
            let ids = jobs.compactMap { $0["job_id"] as? String }
            #expect(ids.count == 6)
            for id in ids {
                #expect(eventually(within: 5) { a.cli.resultFileExists(jobID: id) }, "no result file on host A for \(id)")
                #expect(!b.cli.resultFileExists(jobID: id), "host B ran \(id)")
            }
            #expect(!FileManager.default.fileExists(atPath: b.cli.home + "/workspaces/fresh-1"))
            #expect(!FileManager.default.fileExists(atPath: b.cli.home + "/workspaces/\(created)"))
        }

        /// The same commands work with `--database URL` as with `AGENTQ_DATABASE_URL`, and
        /// `stats` names the database without its password.
        @Test func theDatabaseFlagAndTheVariableReachTheSameQueue() throws {
            let url = try PostgresTestServer.freshDatabase()
            let withFlag = try CLIHome(), withVariable = try CLIHost(databaseURL: url)
            defer { withFlag.remove(); withVariable.remove() }
            let file = try withFlag.write(#"{"custom_id": "x", "input": "hi"}"# + "\n", to: "one.jsonl")
            let report = try withFlag.jsonObject(["submit", file, "--agent", "echo", "--json", "--database", url])
            let batchID = try #require(report["batch_id"] as? String)
            _ = try withVariable.runOK(["worker", "--drain"])
            let jobs = try #require(try withVariable.json(["jobs", "list", "--batch", batchID, "--json"]) as? [[String: Any]])
            #expect(jobs.map { $0["status"] as? String } == ["succeeded"])
            let viaFlag = try withFlag.jsonArray(["jobs", "list", "--batch", batchID, "--json", "--database", url])
            #expect(viaFlag.map { $0["status"] as? String } == ["succeeded"])
            // The home's own SQLite file was never made: the state is in PostgreSQL.
            #expect(!FileManager.default.fileExists(atPath: withFlag.home + "/agentq.db"))
            let stats = try withFlag.runOK(["stats", "--database", url])
            let location = url.components(separatedBy: "?").first ?? url
            #expect(stats.contains("database:   \(location)"), "\(stats)")
        }
    }
}
