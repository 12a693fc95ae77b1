import AgentQTesting
import Foundation
import Testing

/// One "host" of a many-host test: a home of its own (its own host ID, result files and
/// workspaces) whose every command points at a shared PostgreSQL database.
///
/// ```swift
/// let url = try PostgresTestServer.freshDatabase()
/// let a = try CLIHost(databaseURL: url), b = try CLIHost(databaseURL: url)
/// _ = try a.cli.runOK(["submit", file, "--agent", "echo"])   // AGENTQ_DATABASE_URL=url
/// ```
final class CLIHost: Sendable {
    let cli: CLIHome
    let databaseURL: String

    init(databaseURL: String) throws {
        cli = try CLIHome()
        self.databaseURL = databaseURL
    }

    func remove() { cli.remove() }

    var environment: [String: String] { ["AGENTQ_DATABASE_URL": databaseURL] }

    /// Runs `agentq ARGUMENTS` on this host to the end.
    func run(_ arguments: [String], environment extra: [String: String] = [:]) throws -> AgentQProcess.Output {
        try AgentQProcess.run(arguments, home: cli.home, environment: environment.merging(extra) { $1 })
    }

    /// Starts `agentq ARGUMENTS` on this host in the background.
    func start(_ arguments: [String]) throws -> RunningProcess {
        try AgentQProcess.start(arguments, home: cli.home, environment: environment)
    }

    /// Runs a command that must succeed and returns its stdout.
    func runOK(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let output = try run(arguments)
        #expect(output.exitCode == 0, "agentq \(arguments.joined(separator: " ")) exited \(output.exitCode); stderr: \(output.stderr)",
                sourceLocation: sourceLocation)
        return output.stdout
    }

    /// Runs a `--json` command that must succeed and decodes its stdout.
    func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
        let stdout = try runOK(arguments, sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
    }

    /// This host's stable ID, from `<home>/host-id`.
    func hostID() throws -> String {
        try String(contentsOfFile: cli.home + "/host-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
