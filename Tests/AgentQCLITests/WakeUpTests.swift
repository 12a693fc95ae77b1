import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// An idle worker is woken by the process that submits or cancels, not found by its poll.
    @Suite struct WakeUpTests {
        static func date(_ value: Any?) -> Date? {
            (value as? String).flatMap(ISO8601DateFormatter.withFraction.date(from:))
        }

        @Test func anIdleWorkerStartsJobsFromAnotherProcessAtOnceAndSeesCancels() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(slowAgent)
            // A poll of a minute and heartbeats every 0.5 s: pickups within the test come from wake-ups.
            let worker = try cli.start(["worker", "--concurrency", "1", "--poll", "60"])
            defer { stopIfRunning(worker) }
            let listening = eventually(within: 15) {
                ((try? FileManager.default.contentsOfDirectory(atPath: cli.home + "/wake")) ?? []).contains { $0.hasSuffix(".sock") }
            }
            try #require(listening, "the worker never listened; stderr: \(worker.stderrSoFar)")

            var pickups: [Double] = []
            for index in 1...3 {
                let file = try cli.write(#"{"input": "quick \#(index)"}"# + "\n", to: "q\(index).jsonl")
                let (batchID, _) = try cli.submit(file)
                let jobID = try #require(try cli.jobIDs(batch: batchID).first)
                var job: [String: Any] = [:]
                let done = try eventually(within: 20) {
                    job = try cli.job(jobID)
                    return job["status"] as? String == "succeeded"
                }
                try #require(done, "job \(index) still \(job["status"] ?? "?"); worker stderr: \(worker.stderrSoFar)")
                if let created = Self.date(job["created_at"]), let started = Self.date(job["started_at"]) {
                    pickups.append(started.timeIntervalSince(created) * 1000)
                }
            }
            print("pickup after submit from another process (ms): \(pickups.map { String(format: "%.0f", $0) })")

            // A running 60 s job, cancelled from another process, ends long before it would have.
            let file = try cli.write(#"{"input": "take your time"}"# + "\n", to: "slow.jsonl")
            let (batchID, _) = try cli.submit(file, ["--agent", "slow"])
            let jobID = try #require(try cli.jobIDs(batch: batchID).first)
            try #require(try eventually(within: 15) { try cli.status(ofJob: jobID) == "running" })
            let cancelStarted = Date()
            let cancel = try cli.run(["jobs", "cancel", jobID])
            #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
            var job: [String: Any] = [:]
            let cancelled = try eventually(within: 20) {
                job = try cli.job(jobID)
                return job["status"] as? String == "cancelled"
            }
            #expect(cancelled, "still \(job["status"] ?? "?") after the cancel")
            if let finished = Self.date(job["finished_at"]) {
                print("cancel from another process reached the running job after \(String(format: "%.0f", finished.timeIntervalSince(cancelStarted) * 1000)) ms (including the cancel command's start)")
            }
            worker.signal(SIGTERM)
            #expect(worker.wait().exitCode == 0)
        }
    }
}
