import AgentQTesting
import Foundation
import Testing

/// Retryable errors go back to the queue; permanent ones fail at once; `jobs retry` revives them.
@Suite struct RetryTests {
    func submitOne(_ cli: CLIHome, agent: String, _ extra: [String] = []) throws -> String {
        let file = try cli.write(#"{"custom_id": "r", "input": "again"}"# + "\n", to: "\(agent).jsonl")
        let (batchID, _) = try cli.submit(file, ["--agent", agent] + extra)
        return try #require(try cli.jobIDs(batch: batchID).first)
    }

    @Test func retryableFailuresAreRetriedUntilTheJobSucceeds() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name": "flaky", "provider": "echo", "model": "echo", "options": {"fail_first": 2}}"#)
        let jobID = try submitOne(cli, agent: "flaky")

        let drain = try cli.run(["worker", "--drain", "--retry-delay", "0"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

        let result = try cli.result(jobID: jobID)
        #expect(result["status"] as? String == "succeeded")
        #expect(result["attempts"] as? Int == 3)
        #expect(result["response"] as? String == "echo: again")
        #expect(result["error"] is NSNull)

        let job = try cli.job(jobID)
        #expect(job["status"] as? String == "succeeded")
        let errors = try #require(job["attempt_errors"] as? [[String: Any]])
        #expect(errors.count == 2)
        #expect(errors.map { $0["attempt"] as? Int } == [1, 2])
        #expect(errors.allSatisfy { $0["type"] as? String == "provider_unavailable" }, "\(errors)")
    }

    @Test func retryableFailuresStopAtMaxAttempts() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name": "flaky", "provider": "echo", "model": "echo", "options": {"fail_first": 5}}"#)
        let jobID = try submitOne(cli, agent: "flaky", ["--max-attempts", "2"])

        let drain = try cli.run(["worker", "--drain", "--retry-delay", "0"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

        let result = try cli.result(jobID: jobID)
        #expect(result["status"] as? String == "failed")
        #expect(result["attempts"] as? Int == 2)
        #expect(result["max_attempts"] as? Int == 2)
        #expect(errorType(result) == "provider_unavailable")
        #expect((try cli.job(jobID)["attempt_errors"] as? [Any])?.count == 2)
    }

    @Test func permanentFailureFailsAtOnceAndRetryRequeuesIt() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name": "broken", "provider": "echo", "model": "echo", "options": {"fail_permanently": true}}"#)
        let jobID = try submitOne(cli, agent: "broken")

        let drain = try cli.run(["worker", "--drain", "--retry-delay", "0"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

        let result = try cli.result(jobID: jobID)
        #expect(result["status"] as? String == "failed")
        #expect(result["attempts"] as? Int == 1)
        #expect(errorType(result) == "invalid_request")
        let job = try cli.job(jobID)
        #expect((job["attempt_errors"] as? [[String: Any]])?.map { $0["type"] as? String } == ["invalid_request"])

        let retry = try cli.run(["jobs", "retry", jobID])
        #expect(retry.exitCode == 0, "stderr: \(retry.stderr)")
        #expect(retry.stdout.contains("\(jobID): queued"), "stdout: \(retry.stdout)")
        let requeued = try cli.job(jobID)
        #expect(requeued["status"] as? String == "queued")
        #expect(requeued["attempts"] as? Int == 1)
        #expect(requeued["max_attempts"] as? Int == 4, "three more attempts, as it was first given")
        #expect(!cli.resultFileExists(jobID: jobID), "the old result file of a retried job is removed")

        // It fails again, and gets a new result file.
        let again = try cli.run(["worker", "--drain", "--retry-delay", "0"])
        #expect(again.exitCode == 0, "stderr: \(again.stderr)")
        #expect(try cli.result(jobID: jobID)["status"] as? String == "failed")
        #expect(try cli.result(jobID: jobID)["attempts"] as? Int == 2, "the second run is attempt 2")
        let errors = (try cli.job(jobID)["attempt_errors"] as? [[String: Any]])?.map { $0["attempt"] as? Int }
        #expect(errors == [1, 2])
    }

    @Test func aCancelledJobCanBeRetriedAndRunsToSuccess() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let jobID = try submitOne(cli, agent: "echo")
        _ = try cli.runOK(["jobs", "cancel", jobID])
        #expect(try cli.result(jobID: jobID)["status"] as? String == "cancelled")

        let retry = try cli.run(["jobs", "retry", jobID])
        #expect(retry.exitCode == 0, "stderr: \(retry.stderr)")
        #expect(try cli.status(ofJob: jobID) == "queued")
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)
        let result = try cli.result(jobID: jobID)
        #expect(result["status"] as? String == "succeeded")
        #expect(result["response"] as? String == "echo: again")
        #expect(result["attempts"] as? Int == 1)
        #expect(result["error"] is NSNull)
    }

    @Test func retryingASucceededOrUnknownJobFails() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let jobID = try submitOne(cli, agent: "echo")
        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")
        #expect(try cli.status(ofJob: jobID) == "succeeded")

        let retry = try cli.run(["jobs", "retry", jobID])
        #expect(retry.exitCode != 0)
        #expect(retry.stderr.contains(jobID), "stderr: \(retry.stderr)")
        #expect(retry.stderr.contains("succeeded"), "stderr: \(retry.stderr)")
        #expect(try cli.status(ofJob: jobID) == "succeeded")
        #expect(try cli.result(jobID: jobID)["status"] as? String == "succeeded")

        let unknown = try cli.run(["jobs", "retry", "job_nothing"])
        #expect(unknown.exitCode != 0)
        #expect(unknown.stderr.contains("job_nothing"), "stderr: \(unknown.stderr)")
    }
}
