import AgentQTesting
import Foundation
import Testing

/// Session IDs and agent names are checked wherever they enter, and nothing outside
/// `<home>/workspaces` is ever created or removed on their account.
@Suite("Hostile names")
struct HostileNameTests {
    /// A directory next to the home, with a file in it, that no session may touch.
    static func makeVictim(_ cli: CLIHome) throws -> (directory: String, file: String) {
        let directory = cli.directory.url.appendingPathComponent("victim").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/precious.txt"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: file))
        return (directory, file)
    }

    @Test("a bulk line's session that climbs out of the home is refused, and nothing outside is touched")
    func bulkSessionCannotEscape() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let victim = try Self.makeVictim(cli)
        let file = try cli.write(#"{"input": "hi", "session": "../../victim"}"# + "\n", to: "evil.jsonl")

        let submit = try cli.run(["submit", file])
        #expect(submit.exitCode == 1, "stdout: \(submit.stdout) stderr: \(submit.stderr)")
        #expect(
            submit.stderr.contains(#"\#(file):1: invalid session name "../../victim" (letters, digits, . _ -; at most 128)"#),
            "stderr: \(submit.stderr)")
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty, "nothing may be enqueued")

        _ = try cli.run(["worker", "--drain"])
        _ = try cli.run(["sessions", "end", "../../victim", "--yes"])
        #expect(FileManager.default.fileExists(atPath: victim.file), "the victim's file was deleted")
    }

    @Test("--skip-invalid skips a line with a bad session like any other bad line")
    func skipInvalidSkipsBadSessions() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            #"{"input": "hi", "session": ".."}"# + "\n" + #"{"input": "ok", "session": "fine-1"}"# + "\n"
                + #"{"input": "x", "agent": "../x"}"# + "\n",
            to: "mixed.jsonl")
        let output = try cli.run(["submit", file, "--skip-invalid", "--json"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(output.stderr.contains(#"\#(file):1: invalid session name "..""#), "stderr: \(output.stderr)")
        #expect(output.stderr.contains(#"\#(file):3: invalid agent name "../x""#), "stderr: \(output.stderr)")
        let jobs = try cli.jsonArray(["jobs", "list", "--json"])
        #expect(jobs.compactMap { $0["session"] as? String } == ["fine-1"])
    }

    @Test("sessions create refuses . and .. and other bad IDs with exit 64", arguments: [
        "..", ".", "../x", "a/b", "-rf", ".hidden", String(repeating: "a", count: 129), "tab\there", "ünï",
    ])
    func createRefusesBadSessionIDs(id: String) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["sessions", "create", "echo", "--session-id=" + id])
        #expect(output.exitCode == 64, "\(id): exit \(output.exitCode) stdout: \(output.stdout) stderr: \(output.stderr)")
        #expect(output.stderr.contains("invalid session name"), "stderr: \(output.stderr)")
        #expect(try cli.jsonArray(["sessions", "list", "--json"]).isEmpty)
        let workspaces = try FileManager.default.contentsOfDirectory(atPath: cli.home + "/workspaces")
        #expect(workspaces.isEmpty)
    }

    @Test("the longest allowed session ID is accepted")
    func longestSessionIDIsFine() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let id = "A" + String(repeating: "b._-", count: 31) + "xyz"
        #expect(id.count == 128)
        #expect(try cli.runOK(["sessions", "create", "echo", "--session-id", id]).trimmingCharacters(in: .newlines) == id)
    }

    @Test("a bad name is printed escaped, so it cannot drive the terminal")
    func badNamesArePrintedEscaped() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["sessions", "create", "echo", "--session-id", "x\u{1B}[2J\u{7}\n"])
        #expect(output.exitCode == 64)
        #expect(!output.stderr.contains("\u{1B}") && !output.stderr.contains("\u{7}"), "stderr: \(output.stderr.debugDescription)")
        #expect(output.stderr.contains(#"invalid session name "x\u{1B}[2J\u{07}\n""#), "stderr: \(output.stderr)")

        // Looked up rather than created: the message quotes it, escaped too.
        let lookup = try cli.run(["sessions", "end", "\u{1B}]0;pwned\u{7}", "--yes"])
        #expect(lookup.exitCode == 1)
        #expect(!lookup.stderr.contains("\u{1B}") && !lookup.stderr.contains("\u{7}"), "stderr: \(lookup.stderr.debugDescription)")
        #expect(lookup.stderr.contains(#"\u{1B}]0;pwned\u{07}"#), "stderr: \(lookup.stderr)")
    }

    @Test("agent names are checked in definitions and options, with exit 64", arguments: [
        ["sessions", "create", "../x"],
        ["run", "../x", "hello", "--single"],
        ["submit", "FILE", "--agent", "../x"],
    ])
    func badAgentNamesInOptions(arguments: [String]) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"input": "hi"}"# + "\n", to: "one.jsonl")
        let output = try cli.run(arguments.map { $0 == "FILE" ? file : $0 })
        #expect(output.exitCode == 64, "\(arguments): exit \(output.exitCode) stderr: \(output.stderr)")
        #expect(output.stderr.contains(#"invalid agent name "../x""#), "stderr: \(output.stderr)")
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty)
    }

    @Test("agents add refuses a definition with a bad name, with exit 64", arguments: ["..", "../x", "-x", "a b"])
    func agentsAddRefusesBadNames(name: String) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"name": "\#(name)", "provider": "echo"}"#, to: "agent.json")
        let output = try cli.run(["agents", "add", file])
        #expect(output.exitCode == 64, "\(name): exit \(output.exitCode) stderr: \(output.stderr)")
        #expect(output.stderr.contains("invalid agent name"), "stderr: \(output.stderr)")
        let names = try cli.jsonArray(["agents", "list", "--json"]).compactMap { $0["name"] as? String }
        #expect(names == ["echo"])
    }

    @Test("a session stored by an older agentq with a bad ID never deletes outside the home")
    func storedBadSessionCannotDeleteOutside() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let victim = try Self.makeVictim(cli)
        _ = try cli.runOK(["agents", "list"])
        let escaping = cli.home + "/workspaces/../../victim"
        try cli.sqlite("""
            INSERT INTO sessions (id, agent, status, workdir, managed_workdir, created_at, last_active_at)
            VALUES ('../../victim', 'echo', 'idle', '\(escaping)', 1, 0, 0),
                   ('old-ok-name', 'echo', 'idle', '\(victim.directory)', 1, 0, 0);
            """)
        _ = try cli.run(["sessions", "end", "../../victim", "--yes"])
        _ = try cli.run(["sessions", "end", "old-ok-name", "--yes"])
        #expect(FileManager.default.fileExists(atPath: victim.file), "the victim's file was deleted")

        // Nor does the idle timeout (every command expires idle sessions).
        try cli.sqlite("""
            INSERT INTO sessions (id, agent, status, workdir, managed_workdir, created_at, last_active_at)
            VALUES ('old-idle', 'echo', 'idle', '\(victim.directory)', 1, 0, 0);
            """)
        _ = try cli.run(["sessions", "list"], environment: ["AGENTQ_IDLE_TIMEOUT_SECONDS": "1"])
        #expect(FileManager.default.fileExists(atPath: victim.file), "the idle timeout deleted the victim's file")

        // Nor can a row point a session at another session's workspace.
        let neighbour = try cli.runOK(["sessions", "create", "echo", "--session-id", "neighbour"])
            .trimmingCharacters(in: .newlines)
        let neighbourFile = cli.home + "/workspaces/\(neighbour)/notes.txt"
        try Data("mine".utf8).write(to: URL(fileURLWithPath: neighbourFile))
        try cli.sqlite("""
            INSERT INTO sessions (id, agent, status, workdir, managed_workdir, created_at, last_active_at)
            VALUES ('intruder', 'echo', 'idle', '\(cli.home)/workspaces/\(neighbour)', 1, 0, 0);
            """)
        _ = try cli.run(["sessions", "end", "intruder", "--yes"])
        #expect(FileManager.default.fileExists(atPath: neighbourFile), "ending one session removed another's workspace")
    }

    @Test("a stored workspace path outside the home is never created by a turn")
    func storedOutsideWorkdirIsNotCreated() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let outside = cli.directory.url.appendingPathComponent("planted").path
        _ = try cli.runOK(["agents", "list"])
        try cli.sqlite("""
            INSERT INTO sessions (id, agent, status, workdir, managed_workdir, created_at, last_active_at)
            VALUES ('planted', 'echo', 'idle', '\(outside)', 1, \(Int64(Date().timeIntervalSince1970 * 1000)), \(Int64(Date().timeIntervalSince1970 * 1000)));
            """)
        let output = try cli.run(["sessions", "send", "planted", "--input", "hi"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: outside), "a turn created a directory outside the home")
    }

    @Test("a workspace that is a symlink to a directory outside is not followed when the session ends")
    func symlinkedWorkspaceIsNotFollowed() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let victim = try Self.makeVictim(cli)
        let id = try cli.runOK(["sessions", "create", "echo", "--session-id", "linked"]).trimmingCharacters(in: .newlines)
        let workspace = cli.home + "/workspaces/" + id
        try FileManager.default.removeItem(atPath: workspace)
        try FileManager.default.createSymbolicLink(atPath: workspace, withDestinationPath: victim.directory)
        _ = try cli.run(["sessions", "end", id, "--yes"])
        #expect(FileManager.default.fileExists(atPath: victim.file), "the victim's file was deleted through the link")
    }

    @Test("a job queued by an older agentq on a bad lane fails without creating anything outside")
    func queuedJobWithBadLaneFails() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let outside = cli.directory.url.appendingPathComponent("made-by-agentq").path
        let (batchID, _) = try cli.submit(try cli.write(#"{"input": "hi", "session": "good"}"# + "\n", to: "one.jsonl"))
        try cli.sqlite("UPDATE jobs SET lane = '../../made-by-agentq' WHERE batch_id = '\(batchID)'")
        _ = try cli.run(["worker", "--drain"])
        #expect(!FileManager.default.fileExists(atPath: outside), "a directory was created outside the home")
        let job = try #require(try cli.jobs(batch: batchID).first)
        #expect(job["status"] as? String == "failed")
        #expect(errorType(job) == "invalid_session", "job: \(job)")
    }
}
