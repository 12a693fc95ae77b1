import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// A worker killed with SIGKILL: its leases expire and another worker finishes its jobs.
    @Suite struct CrashRecoveryTests {
        @Test func jobsOfAKilledWorkerAreRescuedAndRunExactlyOnceMore() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "sluggish", "provider": "echo", "model": "echo", "options": {"latency_ms": 1500}}"#)
            let lines = (1...6).map { #"{"custom_id": "c\#($0)", "input": "crash \#($0)"}"# }.joined(separator: "\n")
            let (batchID, jobs) = try cli.submit(try cli.write(lines + "\n", to: "six.jsonl"), ["--agent", "sluggish"])
            try #require(jobs == 6)

            let first = try cli.start(["worker", "--concurrency", "3", "--lease", "2"])
            defer { stopIfRunning(first) }
            let threeRunning = try eventually(within: 15) {
                try cli.jsonArray(["jobs", "list", "--status", "running", "--json"]).count == 3
            }
            try #require(threeRunning, "3 jobs never ran at once; worker stderr: \(first.stderrSoFar)")
            first.signal(SIGKILL)
            let killed = first.wait()
            #expect(first.process.terminationReason == .uncaughtSignal, "exit \(killed.exitCode)")

            // Nothing can change a dead worker's jobs until their lease expires: these are the killed ones.
            let before = try cli.jobs(batch: batchID)
            let killedIDs = Set(before.filter { $0["status"] as? String == "running" }.compactMap { $0["job_id"] as? String })
            #expect(killedIDs.count == 3, "jobs running when the worker died: \(killedIDs)")

            let second = try cli.run(["worker", "--drain", "--concurrency", "3", "--lease", "2"])
            #expect(second.exitCode == 0, "stderr: \(second.stderr)")

            let files = try cli.resultFiles()
            #expect(files.count == 6)
            let after = try cli.jobs(batch: batchID)
            #expect(after.count == 6)
            for job in after {
                let id = try #require(job["job_id"] as? String)
                let result = try cli.result(jobID: id)
                let customID = result["custom_id"] as? String ?? "?"
                #expect(result["status"] as? String == "succeeded", "\(customID)")
                #expect(result["response"] as? String == "echo: crash \(customID.dropFirst())")
                let expectedAttempts = killedIDs.contains(id) ? 2 : 1
                #expect(result["attempts"] as? Int == expectedAttempts, "\(customID): killed=\(killedIDs.contains(id))")

                let detail = try cli.job(id)
                let errors = try #require(detail["attempt_errors"] as? [[String: Any]])
                if killedIDs.contains(id) {
                    #expect(errors.count == 1, "\(customID): \(errors)")
                    #expect(errors.first?["type"] as? String == "lease_expired", "\(customID): \(errors)")
                    #expect(errors.first?["attempt"] as? Int == 1, "\(customID): \(errors)")
                } else {
                    #expect(errors.isEmpty, "\(customID): \(errors)")
                }
            }
        }

        @Test func aKilledJobWithNoAttemptsLeftFailsAsLeaseExpired() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            let (batchID, _) = try cli.submit(
                try cli.write(#"{"input": "only once"}"# + "\n", to: "once.jsonl"), ["--agent", "slow", "--max-attempts", "1"])
            let jobID = try #require(try cli.jobIDs(batch: batchID).first)

            let first = try cli.start(["worker", "--lease", "1"])
            defer { stopIfRunning(first) }
            let running = try eventually(within: 15) { try cli.status(ofJob: jobID) == "running" }
            try #require(running, "worker stderr: \(first.stderrSoFar)")
            first.signal(SIGKILL)
            _ = first.wait()

            let second = try cli.run(["worker", "--drain", "--lease", "1"])
            #expect(second.exitCode == 0, "stderr: \(second.stderr)")
            let result = try cli.result(jobID: jobID)
            #expect(result["status"] as? String == "failed")
            #expect(result["attempts"] as? Int == 1)
            #expect(errorType(result) == "lease_expired")
            let errors = try #require(try cli.job(jobID)["attempt_errors"] as? [[String: Any]])
            #expect(errors.map { $0["type"] as? String } == ["lease_expired"])
        }
    }
}
