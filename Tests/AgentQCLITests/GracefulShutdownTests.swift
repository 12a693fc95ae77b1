import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// SIGTERM/SIGINT: stop claiming, give running jobs `--grace` seconds, then requeue them uncounted.
    @Suite struct GracefulShutdownTests {
        /// Starts a worker with `arguments` on one job of `agent` and waits until the job runs.
        func startWorkerOnOneJob(
            _ cli: CLIHome, agent: String, arguments: [String]
        ) throws -> (worker: RunningProcess, jobID: String) {
            let (batchID, _) = try cli.submit(
                try cli.write(#"{"custom_id": "g", "input": "stop me"}"# + "\n", to: "g.jsonl"), ["--agent", agent])
            let jobID = try #require(try cli.jobIDs(batch: batchID).first)
            let worker = try cli.start(["worker"] + arguments)
            let running = try eventually(within: 15) { try cli.status(ofJob: jobID) == "running" }
            if !running { stopIfRunning(worker) }
            try #require(running, "the job never started; worker stderr: \(worker.stderrSoFar)")
            return (worker, jobID)
        }

        @Test func sigtermAfterTheGracePeriodRequeuesTheRunningJobWithoutCountingIt() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            let (worker, jobID) = try startWorkerOnOneJob(cli, agent: "slow", arguments: ["--grace", "0.5"])
            defer { stopIfRunning(worker) }

            let signalled = Date()
            worker.signal(SIGTERM)
            let exited = eventually(within: 10) { !worker.process.isRunning }
            let elapsed = Date().timeIntervalSince(signalled)
            try #require(exited, "the worker was still running 10 s after SIGTERM; stderr: \(worker.stderrSoFar)")
            let output = worker.wait()
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            #expect(elapsed < 4, "the worker took \(elapsed) s to exit with --grace 0.5")
            #expect(output.stderr.contains("SIGTERM"), "stderr: \(output.stderr)")

            let job = try cli.job(jobID)
            #expect(job["status"] as? String == "queued")
            #expect(job["attempts"] as? Int == 0)
            #expect((job["attempt_errors"] as? [Any])?.isEmpty == true, "\(job["attempt_errors"] ?? "-")")
            #expect(!cli.resultFileExists(jobID: jobID), "a requeued job has no result file")
        }

        @Test func aJobThatFinishesWithinTheGraceIsKept() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "brief", "provider": "echo", "model": "echo", "options": {"latency_ms": 1500}}"#)
            let (worker, jobID) = try startWorkerOnOneJob(cli, agent: "brief", arguments: ["--grace", "20"])
            defer { stopIfRunning(worker) }

            worker.signal(SIGINT)
            let exited = eventually(within: 15) { !worker.process.isRunning }
            try #require(exited, "the worker did not exit after its job finished; stderr: \(worker.stderrSoFar)")
            let output = worker.wait()
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")

            let result = try cli.result(jobID: jobID)
            #expect(result["status"] as? String == "succeeded")
            #expect(result["response"] as? String == "echo: stop me")
            #expect(result["attempts"] as? Int == 1)
        }

        @Test func aSecondSignalSkipsTheGracePeriod() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            let (worker, jobID) = try startWorkerOnOneJob(cli, agent: "slow", arguments: ["--grace", "60"])
            defer { stopIfRunning(worker) }

            worker.signal(SIGTERM)
            // Wait until the first signal has been seen before sending the second.
            let sawFirst = eventually(within: 5) { worker.stderrSoFar.contains("no new jobs") }
            #expect(sawFirst, "stderr: \(worker.stderrSoFar)")
            let second = Date()
            worker.signal(SIGTERM)
            let exited = eventually(within: 10) { !worker.process.isRunning }
            let elapsed = Date().timeIntervalSince(second)
            try #require(exited, "the worker ignored the second SIGTERM; stderr: \(worker.stderrSoFar)")
            let output = worker.wait()
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            #expect(elapsed < 4, "took \(elapsed) s after the second signal")

            let job = try cli.job(jobID)
            #expect(job["status"] as? String == "queued")
            #expect(job["attempts"] as? Int == 0)
        }
    }
}
