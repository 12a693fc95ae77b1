import AgentQTesting
import Foundation
import Testing

let slowAgent = #"{"name": "slow", "provider": "echo", "model": "echo", "options": {"latency_ms": 60000}}"#

extension MultiProcess {
    /// `jobs cancel` from one process stops a job another process is running.
    @Suite struct CancelRunningTests {
        @Test func cancelFromAnotherProcessStopsARunningJobWithinTwoSeconds() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            let file = try cli.write(#"{"custom_id": "long", "input": "take your time"}"# + "\n", to: "one.jsonl")
            let (batchID, _) = try cli.submit(file, ["--agent", "slow"])
            let jobID = try #require(try cli.jobIDs(batch: batchID).first)

            let worker = try cli.start(["worker", "--concurrency", "1"])
            defer { stopIfRunning(worker) }
            let running = try eventually(within: 15) { try cli.status(ofJob: jobID) == "running" }
            try #require(running, "the job never started; worker stderr: \(worker.stderrSoFar)")

            let cancelStarted = Date()
            let cancel = try cli.run(["jobs", "cancel", jobID])
            #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
            #expect(cancel.stdout.contains(jobID))
            #expect(cancel.stdout.contains("cancel requested"), "stdout: \(cancel.stdout)")

            var job: [String: Any] = [:]
            let cancelled = try eventually(within: 10) {
                job = try cli.job(jobID)
                return job["status"] as? String == "cancelled"
            }
            #expect(cancelled, "still \(job["status"] ?? "?") 10 s after the cancel")
            // When the job became cancelled: its finished_at, written by the worker that stopped it.
            let finishedAt = try #require(
                (job["finished_at"] as? String).flatMap(ISO8601DateFormatter.withFraction.date(from:)))
            let elapsed = finishedAt.timeIntervalSince(cancelStarted)
            #expect(elapsed <= 2.0, "the job reached cancelled \(elapsed) s after `jobs cancel` started")

            // The result file follows the state change.
            #expect(eventually(within: 5) { cli.resultFileExists(jobID: jobID) }, "no result file for \(jobID)")
            let result = try cli.result(jobID: jobID)
            #expect(result["status"] as? String == "cancelled")
            #expect(errorType(result) == "cancelled")
            #expect(result["custom_id"] as? String == "long")

            // The worker keeps running, and stops cleanly on SIGTERM.
            #expect(worker.process.isRunning)
            worker.signal(SIGTERM)
            let exit = worker.wait()
            #expect(exit.exitCode == 0, "worker stderr: \(exit.stderr)")
        }

        @Test func cancelSessionWithWaitReturnsOnceTheRunningJobStopped() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            let file = try cli.write(
                #"{"custom_id": "a", "input": "first", "session": "chat"}"# + "\n"
                    + #"{"custom_id": "b", "input": "second", "session": "chat"}"# + "\n"
                    + #"{"custom_id": "c", "input": "elsewhere", "agent": "echo"}"# + "\n",
                to: "session.jsonl")
            let (batchID, _) = try cli.submit(file, ["--agent", "slow"])
            let ids = try cli.jobIDs(batch: batchID)
            try #require(ids.count == 3)

            let worker = try cli.start(["worker", "--drain", "--concurrency", "2"])
            defer { stopIfRunning(worker) }
            let running = try eventually(within: 15) { try cli.status(ofJob: ids[0]) == "running" }
            try #require(running, "worker stderr: \(worker.stderrSoFar)")

            let started = Date()
            let cancel = try cli.run(["jobs", "cancel", "--session", "chat", "--wait"])
            let elapsed = Date().timeIntervalSince(started)
            #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
            #expect(cancel.stdout.contains("\(ids[0]): cancelled"), "stdout: \(cancel.stdout)")
            #expect(cancel.stdout.contains("\(ids[1]): cancelled"), "stdout: \(cancel.stdout)")
            #expect(elapsed <= 2.5, "`jobs cancel --wait` took \(elapsed) s")
            #expect(try cli.status(ofJob: ids[0]) == "cancelled")
            #expect(try cli.status(ofJob: ids[1]) == "cancelled")

            // The drain worker finishes the job outside the session and exits on its own.
            let exited = eventually(within: 10) { !worker.process.isRunning }
            try #require(exited, "the drain worker did not exit; stderr: \(worker.stderrSoFar)")
            let output = worker.wait()
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            #expect(try cli.status(ofJob: ids[2]) == "succeeded")
            #expect(try cli.resultFiles().count == 3)
            #expect(try cli.result(jobID: ids[0])["status"] as? String == "cancelled")
            #expect(try cli.result(jobID: ids[1])["status"] as? String == "cancelled")
        }
    }
}

/// Cancelling jobs no worker has claimed, whole batches, and IDs that do not exist.
@Suite struct CancelTests {
    @Test func cancellingAQueuedJobIsImmediateAndWritesItsResult() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"custom_id": "q", "input": "never run"}"# + "\n", to: "q.jsonl")
        let (batchID, _) = try cli.submit(file)
        let jobID = try #require(try cli.jobIDs(batch: batchID).first)

        let cancel = try cli.run(["jobs", "cancel", jobID])
        #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
        #expect(cancel.stdout.contains("\(jobID): cancelled"), "stdout: \(cancel.stdout)")

        // No waiting: once the command returned, the job and its file are final.
        let job = try cli.job(jobID)
        #expect(job["status"] as? String == "cancelled")
        #expect(job["attempts"] as? Int == 0)
        #expect(cli.resultFileExists(jobID: jobID))
        let result = try cli.result(jobID: jobID)
        #expect(result["status"] as? String == "cancelled")
        #expect(errorType(result) == "cancelled")
        #expect(result["response"] is NSNull)

        // A worker has nothing to do afterwards.
        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0)
        #expect(try cli.status(ofJob: jobID) == "cancelled")

        // Cancelling it again is not an error, and says so.
        let again = try cli.run(["jobs", "cancel", jobID])
        #expect(again.exitCode == 0)
        #expect(again.stdout.contains("already cancelled"), "stdout: \(again.stdout)")
    }

    @Test func cancelBatchCancelsEveryJobOfThatBatchOnly() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let lines = (1...5).map { #"{"input": "job \#($0)"}"# }.joined(separator: "\n") + "\n"
        let (target, _) = try cli.submit(try cli.write(lines, to: "a.jsonl"))
        let (other, _) = try cli.submit(try cli.write(lines, to: "b.jsonl"))

        let cancel = try cli.run(["jobs", "cancel", "--batch", target])
        #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")

        let targetJobs = try cli.jobs(batch: target)
        #expect(targetJobs.count == 5)
        #expect(targetJobs.allSatisfy { $0["status"] as? String == "cancelled" })
        for job in targetJobs {
            let id = try #require(job["job_id"] as? String)
            #expect(try cli.result(jobID: id)["status"] as? String == "cancelled")
        }
        #expect(try cli.jobs(batch: other).allSatisfy { $0["status"] as? String == "queued" })
        let status = try cli.batchStatus(target)
        #expect((status["counts"] as? [String: Any])?["cancelled"] as? Int == 5)

        // `batch cancel` does the same for the other batch.
        let batchCancel = try cli.run(["batch", "cancel", other])
        #expect(batchCancel.exitCode == 0, "stderr: \(batchCancel.stderr)")
        #expect(batchCancel.stdout.contains("cancelled 5"), "stdout: \(batchCancel.stdout)")
        #expect(try cli.jobs(batch: other).allSatisfy { $0["status"] as? String == "cancelled" })
        #expect(try cli.resultFiles().count == 10)
    }

    @Test func cancellingAnUnknownIDFailsNamingIt() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["jobs", "cancel", "job_doesnotexist"])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains("job_doesnotexist"), "stderr: \(output.stderr)")

        let get = try cli.run(["jobs", "get", "job_doesnotexist"])
        #expect(get.exitCode != 0)
        #expect(get.stderr.contains("job_doesnotexist"), "stderr: \(get.stderr)")
    }

    @Test func cancelNeedsExactlyOneSelector() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let none = try cli.run(["jobs", "cancel"])
        #expect(none.exitCode != 0)
        let both = try cli.run(["jobs", "cancel", "job_x", "--batch", "bat_y"])
        #expect(both.exitCode != 0)
    }
}
