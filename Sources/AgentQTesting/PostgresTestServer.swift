import Foundation
import JobQueue

/// The throwaway PostgreSQL server the tests share, and a new empty database on it per call.
///
/// `make test` starts the server (`Tests/Support/postgres-test-server.sh`) and passes its URL in
/// `AGENTQ_TEST_POSTGRES_URL`; a bare `swift test` starts one itself on first use and stops it
/// when the test process exits. No test is skipped for want of PostgreSQL.
///
/// ```swift
/// let url = try PostgresTestServer.freshDatabase()   // postgres://postgres@127.0.0.1:PORT/agentq_t_…
/// let queue = try AgentQueue(home: home, databaseURL: url)
/// ```
public enum PostgresTestServer {
    /// The server's URL (its `postgres` database).
    /// - throws: when the server cannot be started.
    public static func serverURL() throws -> String {
        try started.get()
    }

    /// A URL to a database of its own, created empty now.
    /// - throws: ``JobQueue/StoreError`` when the server cannot create it.
    public static func freshDatabase(prefix: String = "agentq_t") throws -> String {
        let server = try PostgresLocation(url: try serverURL())
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let admin = try PGDatabase(location: server, migrations: [], maximumConnections: 1)
        defer { admin.close() }
        try admin.read { try $0.run(script: "CREATE DATABASE \(name)") }
        return "postgres://\(server.user)@\(server.host):\(server.port)/\(name)?sslmode=disable"
    }

    private static let started: Result<String, any Error> = Result { () throws -> String in
        if let url = ProcessInfo.processInfo.environment["AGENTQ_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agentq-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let url = try runScript("start", directory)
        scriptDirectory = directory
        atexit {
            if let directory = PostgresTestServer.scriptDirectory { _ = try? PostgresTestServer.runScript("stop", directory) }
        }
        return url
    }

    nonisolated(unsafe) private static var scriptDirectory: String?

    /// `Tests/Support/postgres-test-server.sh` of this checkout.
    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Support/postgres-test-server.sh")
    }

    /// Runs the script with posix_spawn and waitpid: Foundation's `Process` can miss the exit
    /// of a child whose own child (the server) lives on.
    @discardableResult
    static func runScript(_ command: String, _ directory: String) throws -> String {
        let outputPath = NSTemporaryDirectory() + "agentq-pg-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let arguments = ["/bin/bash", "-c", "exec bash \"$0\" \"$1\" \"$2\" </dev/null >\"$3\"",
                         script.path, command, directory, outputPath]
        var cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, &cArguments, environ)
        guard spawned == 0 else { throw StoreError(.cannotOpen, "cannot run \(script.path): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = ((try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0 else {
            throw StoreError(.cannotOpen, "\(script.path) \(command) failed (wait status \(status))")
        }
        return text
    }
}
