import AgentQTesting
import Foundation
import Testing

/// Choosing the database: `--database URL` or `AGENTQ_DATABASE_URL`, and what a bad one says.
@Suite struct DatabaseURLTests {
    static let password = "s3cret-Pa55"

    /// A URL that does not parse, and a server that refuses the connection: one sentence on
    /// stderr naming the URL without its password, exit 1, no crash, with the flag and the variable.
    @Test(arguments: [
        ("postgres://agentq:\(password)@127.0.0.1:1/agentq?sslmode=disable", "postgres://agentq@127.0.0.1:1/agentq"),
        ("mysql://agentq:\(password)@db.internal/agentq", "mysql://agentq:***@db.internal/agentq"),
        ("postgres://agentq:\(password)@db.internal:5432/", "postgres://agentq:***@db.internal:5432/"),
    ])
    func aBadDatabaseGivesOneClearSentenceWithoutThePassword(url: String, printed: String) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        for (arguments, environment) in [
            (["jobs", "list", "--database", url], [String: String]()),
            (["jobs", "list"], ["AGENTQ_DATABASE_URL": url]),
        ] {
            let output = try cli.run(arguments, environment: environment)
            #expect(output.exitCode == 1, "\(arguments) \(environment): exit \(output.exitCode); stderr: \(output.stderr)")
            let lines = output.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments) \(environment): \(output.stderr)")
            #expect(output.stderr.hasPrefix("agentq: "), "\(output.stderr)")
            #expect(output.stderr.contains(printed), "\(arguments) \(environment): \(output.stderr)")
            #expect(!output.stderr.contains(Self.password) && !output.stdout.contains(Self.password), "\(output.stderr)")
        }
    }

    /// An empty variable is a mistake to point out, not a silent fallback to SQLite.
    @Test func anEmptyDatabaseURLIsAnError() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["jobs", "list"], environment: ["AGENTQ_DATABASE_URL": ""])
        #expect(output.exitCode == 1)
        #expect(output.stderr.contains("AGENTQ_DATABASE_URL is set but empty"), "\(output.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cli.home + "/agentq.db"))
    }
}
