import AgentQTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two sessions of the `scribe` agent in a home under `$HOME`, driven through the built binary:
/// one session's bash cannot read the other's files or the database.
@Suite("Sandbox isolation through the CLI")
struct SandboxIsolationCLITests {
    static let scribe =
        #"{"name":"scribe","provider":"echo","model":"echo","tools":["bash","read_file","write_file","edit_file","list_files"]}"#

    /// The first tool call of the turn `sessions create/send … --json` printed.
    static func firstToolCall(_ stdout: String) throws -> [String: Any] {
        let document = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "\(stdout)")
        let turn = try #require(document["turn"] as? [String: Any], "\(document)")
        return try #require((turn["tool_calls"] as? [[String: Any]])?.first, "\(turn)")
    }

    /// A message that makes the echo provider call bash with `command`.
    static func bashMessage(_ command: String) throws -> String {
        let arguments = try JSONSerialization.data(withJSONObject: ["command": command])
        return "/tool bash " + String(decoding: arguments, as: UTF8.self)
    }

    @Test("one session's bash cannot read another session's secret or the database")
    func sessionsAreStrangers() throws {
        try Self.checkSessionsAreStrangers(under: FileManager.default.homeDirectoryForCurrentUser)
    }

    /// /opt is shown read-only in the sandbox, so a home there must be covered up.
    @Test(
        "with the home in /opt, which the sandbox shows, sessions are still strangers",
        .enabled(if: access("/opt", W_OK) == 0, "/opt is not writable here"))
    func homeInOpt() throws {
        try Self.checkSessionsAreStrangers(under: URL(fileURLWithPath: "/opt"))
    }

    static func checkSessionsAreStrangers(under base: URL) throws {
        let directory = try TemporaryDirectory(prefix: ".agentq-test", under: base)
        defer { directory.remove() }
        let home = directory.path + "/home"
        func agentq(_ arguments: [String]) throws -> AgentQProcess.Output {
            let output = try AgentQProcess.run(arguments, home: home)
            #expect(output.exitCode == 0, "agentq \(arguments): \(output.stderr)")
            return output
        }
        let definition = directory.path + "/scribe.json"
        try Data(Self.scribe.utf8).write(to: URL(fileURLWithPath: definition))
        _ = try agentq(["agents", "add", definition])

        // The secret is built by the shell so that no command, and so no transcript, holds it whole.
        let victim = try agentq([
            "sessions", "create", "scribe", "--session-id", "victim", "--json",
            "--input", try Self.bashMessage("echo VAULT-$((4000 + 711)) > secret.txt && pwd"),
        ])
        let victimCall = try Self.firstToolCall(victim.stdout)
        #expect(victimCall["result"] as? String == "/workspace\nexit code: 0", "\(victimCall)")
        let secretFile = home + "/workspaces/victim/secret.txt"
        #expect(FileManager.default.contents(atPath: secretFile) == Data("VAULT-4711\n".utf8))

        let intruder = try agentq([
            "sessions", "create", "scribe", "--session-id", "intruder", "--json",
            "--input", try Self.bashMessage(
                "cat \(home)/workspaces/*/secret.txt; ls -la \(home) \(home)/workspaces; cat \(home)/agentq.db | head -c 100000; "
                    + "cat ~/*/workspaces/*/secret.txt; pwd"),
        ])
        let call = try Self.firstToolCall(intruder.stdout)
        let result = try #require(call["result"] as? String)
        #expect(!result.contains("VAULT-4711"), "\(result)")
        #expect(!result.contains("SQLite format"), "\(result)")
        #expect(!result.contains("victim"), "\(result)")
        #expect(result.contains("/workspace\nexit code: 0"), "\(result)")
        #expect(!intruder.stdout.contains("VAULT-4711"))

        // The victim's own file tools reach its file by the sandbox's path.
        let own = try agentq([
            "sessions", "send", "victim", "--json", "--input", #"/tool read_file {"path":"/workspace/secret.txt"}"#,
        ])
        #expect(try Self.firstToolCall(own.stdout)["result"] as? String == "VAULT-4711\n")
    }
}
