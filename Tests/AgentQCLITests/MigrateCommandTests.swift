import AgentQTesting
import Foundation
import Testing

/// `agentq migrate --to postgres://…`: a SQLite home's state copied into PostgreSQL, with its
/// IDs, and nothing copied twice.
@Suite struct MigrateCommandTests {
    @Test func aHomeIsCopiedWithItsIDsAndHistoryAndASecondRunCopiesNothing() throws {
        let url = try PostgresTestServer.freshDatabase()
        let cli = try CLIHome()
        defer { cli.remove() }
        // Finished jobs (one failed once first: an attempt error), queued jobs, a session with
        // its history, an agent, a setting.
        try cli.addAgent(#"{"name": "flaky", "provider": "echo", "model": "echo", "options": {"fail_first": 1}}"#)
        let (done, _) = try cli.submit(try cli.write(#"{"custom_id": "f1", "input": "one"}"# + "\n" + #"{"custom_id": "f2", "input": "two"}"# + "\n",
                                                     to: "done.jsonl"), ["--agent", "flaky"])
        _ = try cli.runOK(["worker", "--drain", "--retry-delay", "0"])
        let (waiting, _) = try cli.submit(try cli.write(#"{"custom_id": "w1", "input": "later"}"# + "\n", to: "waiting.jsonl"),
                                          ["--agent", "echo"])
        let session = try cli.jsonObject(["sessions", "create", "echo", "--input", "hello", "--json"])
        let sessionID = try #require(session["session_id"] as? String)
        _ = try cli.runOK(["config", "set", "retention.finished", "14d"])
        let doneJobs = try cli.jobs(batch: done)
        let waitingIDs = try cli.jobIDs(batch: waiting)
        let hostID = try String(contentsOfFile: cli.home + "/host-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)

        let first = try cli.run(["migrate", "--to", url])
        #expect(first.exitCode == 0, "stderr: \(first.stderr)")
        #expect(first.stdout.contains("jobs: 4 copied, 0 already there"), "\(first.stdout)")   // 2 + 1 + the session's turn
        #expect(first.stdout.contains("attempt errors: 2 copied"), "\(first.stdout)")
        #expect(first.stdout.contains("sessions: 1 copied"), "\(first.stdout)")
        #expect(first.stdout.contains("session messages: 2 copied"), "\(first.stdout)")
        #expect(first.stdout.contains("batches: 3 copied") || first.stdout.contains("batches: 2 copied"), "\(first.stdout)")

        let second = try cli.run(["migrate", "--to", url])
        #expect(second.exitCode == 0, "stderr: \(second.stderr)")
        #expect(second.stdout.contains("jobs: 0 copied, 4 already there"), "\(second.stdout)")
        #expect(second.stdout.contains("sessions: 0 copied, 1 already there"), "\(second.stdout)")
        #expect(second.stdout.contains("session messages: 0 copied"), "\(second.stdout)")

        // Another host on the database sees the same jobs, with their IDs, attempts and errors.
        let other = try CLIHost(databaseURL: url)
        defer { other.remove() }
        let copied = try #require(try other.json(["jobs", "list", "--batch", done, "--json"]) as? [[String: Any]])
        #expect(copied.map { $0["job_id"] as? String } == doneJobs.map { $0["job_id"] as? String })
        #expect(copied.map { $0["status"] as? String } == ["succeeded", "succeeded"])
        #expect(copied.map { $0["attempts"] as? Int } == [2, 2])
        let firstID = try #require(copied.first?["job_id"] as? String)
        let detail = try #require(try other.json(["jobs", "get", firstID, "--json"]) as? [String: Any])
        #expect((detail["attempt_errors"] as? [[String: Any]])?.count == 1, "\(detail)")
        #expect(detail["response"] as? String == "echo: one" || "\(detail)".contains("echo: one"), "\(detail)")
        let transcript = try #require(try other.json(["sessions", "get", sessionID, "--json"]) as? [String: Any])
        #expect((transcript["messages"] as? [[String: Any]])?.map { $0["content"] as? String } == ["hello", "echo: hello"])
        #expect(transcript["host"] as? String == hostID, "the session's workspace is in the migrated home")
        #expect(try other.runOK(["agents", "list"]).contains("flaky"))
        #expect(try other.runOK(["config", "get", "retention.finished"]).contains("14d"))
        // The queued job runs from the database.
        _ = try other.runOK(["worker", "--drain"])
        let ran = try #require(try other.json(["jobs", "list", "--batch", waiting, "--json"]) as? [[String: Any]])
        #expect(ran.map { $0["job_id"] as? String } == waitingIDs)
        #expect(ran.map { $0["status"] as? String } == ["succeeded"])
    }

    @Test func aBadTargetIsOneSentenceWithoutThePassword() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["stats"])
        let output = try cli.run(["migrate", "--to", "postgres://agentq:hunter22@127.0.0.1:1/agentq?sslmode=disable"])
        #expect(output.exitCode == 1)
        #expect(output.stderr.contains("postgres://agentq@127.0.0.1:1/agentq"), "\(output.stderr)")
        #expect(!output.stderr.contains("hunter22"))
    }
}
