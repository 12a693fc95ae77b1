import AgentQTesting
import Foundation
import Testing

/// Output formats, `submit --wait`, usage errors and the home directory.
@Suite struct CommandLineTests {
    static let threeLines = (1...3).map { #"{"custom_id": "w\#($0)", "input": "wait \#($0)"}"# }.joined(separator: "\n") + "\n"

    @Test func submitJSONPrintsExactlyOneObject() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(Self.threeLines, to: "three.jsonl")
        let output = try cli.run(["submit", file, "--json"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        let lines = output.stdout.split(separator: "\n")
        #expect(lines.count == 1, "stdout: \(output.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let batchID = try #require(report["batch_id"] as? String)
        #expect(batchID.hasPrefix("bat_"))
        #expect(report["jobs"] as? Int == 3)
        #expect(report["skipped"] as? Int == 0)
        #expect(Set(report.keys) == ["batch_id", "jobs", "skipped"])

        let status = try cli.batchStatus(batchID)
        #expect(status["status"] as? String != "completed")
        #expect((status["counts"] as? [String: Any])?["queued"] as? Int == 3)
    }

    @Test func submitWaitRunsTheBatchAndReportsProgress() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(Self.threeLines, to: "three.jsonl")
        let output = try cli.run(["submit", file, "--wait"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        let progress = output.stderr.split(separator: "\n").filter { $0.hasPrefix("progress:") }
        #expect(!progress.isEmpty, "stderr: \(output.stderr)")
        #expect(progress.last?.contains("3/3 done") == true, "stderr: \(output.stderr)")
        #expect(!output.stderr.contains("\u{1B}["), "no terminal escapes when stderr is not a TTY")
        #expect(output.stdout.contains("3 succeeded"), "stdout: \(output.stdout)")

        let files = try cli.resultFiles()
        #expect(files.count == 3)
        for file in files {
            let result = try cli.result(jobID: String(file.dropLast(".json".count)))
            #expect(result["status"] as? String == "succeeded")
            #expect((result["response"] as? String)?.hasPrefix("echo: wait ") == true)
        }
        let batches = try cli.jsonArray(["batch", "list", "--json"])
        #expect(batches.count == 1)
        #expect(batches.first?["status"] as? String == "completed")
    }

    @Test func submitWaitWithJSONPrintsOnlyTheObject() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(Self.threeLines, to: "three.jsonl")
        let output = try cli.run(["submit", file, "--wait", "--json"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.split(separator: "\n").count == 1, "stdout: \(output.stdout)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        let batchID = try #require(report["batch_id"] as? String)
        #expect(try cli.batchStatus(batchID)["status"] as? String == "completed")
        #expect(try cli.resultFiles().count == 3)
    }

    @Test func submitWaitExitsNonZeroWhenAJobFails() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name": "broken", "provider": "echo", "model": "echo", "options": {"fail_permanently": true}}"#)
        let file = try cli.write(#"{"input": "ok"}"# + "\n" + #"{"input": "no", "agent": "broken"}"# + "\n", to: "f.jsonl")
        let output = try cli.run(["submit", file, "--wait"])
        #expect(output.exitCode != 0, "stdout: \(output.stdout)")
        #expect(output.stdout.contains("1 succeeded, 1 failed"), "stdout: \(output.stdout)")
        #expect(try cli.resultFiles().count == 2)
    }

    @Test func drainAndOnceTogetherIsAUsageError() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["worker", "--drain", "--once"])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains("--drain") && output.stderr.contains("--once"), "stderr: \(output.stderr)")
    }

    @Test(arguments: [
        ["worker", "--concurrency", "0"],
        ["worker", "--lease", "0.5"],
        ["worker", "--grace", "-1"],
        ["jobs", "list", "--status", "sleeping"],
        ["submit", "x.jsonl", "--max-attempts", "0"],
        ["frobnicate"],
    ])
    func badArgumentsAreUsageErrors(arguments: [String]) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(arguments)
        #expect(output.exitCode != 0, "\(arguments)")
        #expect(!output.stderr.isEmpty, "\(arguments)")
    }

    @Test func workerOnceRunsOneJob() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let (batchID, _) = try cli.submit(try cli.write(Self.threeLines, to: "three.jsonl"))
        let output = try cli.run(["worker", "--once"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        let statuses = try cli.jobs(batch: batchID).map { $0["status"] as? String }
        #expect(statuses == ["succeeded", "queued", "queued"])
        #expect(try cli.resultFiles().count == 1)

        // With nothing ready it returns at once.
        let drained = try cli.run(["worker", "--drain"])
        #expect(drained.exitCode == 0)
        let idle = try cli.run(["worker", "--once"])
        #expect(idle.exitCode == 0, "stderr: \(idle.stderr)")
    }

    @Test func anEmptyAgentqHomeIsAnError() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        for arguments in [["jobs", "list"], ["submit", "-"], ["worker", "--drain"]] {
            let output = try cli.run(arguments, stdin: "", environment: ["AGENTQ_HOME": ""])
            #expect(output.exitCode != 0, "\(arguments)")
            #expect(output.stderr.contains("AGENTQ_HOME"), "\(arguments): \(output.stderr)")
        }
    }

    @Test func homeOptionOverridesTheEnvironment() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let other = cli.directory.url.appendingPathComponent("other-home").path
        let file = try cli.write(Self.threeLines, to: "three.jsonl")
        let submit = try cli.run(["submit", file, "--home", other, "--wait"])
        #expect(submit.exitCode == 0, "stderr: \(submit.stderr)")
        let otherResults = try FileManager.default.contentsOfDirectory(atPath: other + "/results").filter { $0.hasSuffix(".json") }
        #expect(otherResults.count == 3)
        #expect(FileManager.default.fileExists(atPath: other + "/agentq.db"))
        // Nothing went to $AGENTQ_HOME.
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty)
    }

    @Test func jobsListFiltersAndJSONUsesTheResultFields() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let (batchID, _) = try cli.submit(try cli.write(Self.threeLines, to: "three.jsonl"))
        let ids = try cli.jobIDs(batch: batchID)
        try #require(ids.count == 3)
        _ = try cli.runOK(["jobs", "cancel", ids[1]])
        _ = try cli.runOK(["worker", "--drain"])

        let succeeded = try cli.jsonArray(["jobs", "list", "--status", "succeeded", "--json"])
        #expect(Set(succeeded.compactMap { $0["job_id"] as? String }) == [ids[0], ids[2]])
        let cancelled = try cli.jsonArray(["jobs", "list", "--status", "cancelled", "--json"])
        #expect(cancelled.compactMap { $0["job_id"] as? String } == [ids[1]])
        #expect(try cli.jsonArray(["jobs", "list", "--limit", "2", "--json"]).count == 2)

        // `jobs get --json` is the result file's object plus attempt_errors.
        let result = try cli.result(jobID: ids[0])
        var job = try cli.job(ids[0])
        #expect(job.removeValue(forKey: "attempt_errors") != nil)
        #expect(Set(job.keys) == Set(result.keys))
        #expect(job["response"] as? String == result["response"] as? String)
        #expect(Set(result.keys).isSuperset(of: [
            "job_id", "custom_id", "batch_id", "session", "agent", "status", "response", "tool_calls", "usage",
            "steps", "attempts", "max_attempts", "error", "priority", "metadata", "created_at", "started_at",
            "finished_at",
        ]))
    }
}
