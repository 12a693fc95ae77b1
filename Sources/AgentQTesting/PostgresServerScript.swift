import Foundation
import JobQueue

/// `Tests/Support/postgres-test-server.sh` from Swift: a throwaway PostgreSQL server in a
/// directory, for the tests (``PostgresTestServer``) and `make bench`.
///
/// ```swift
/// let url = try PostgresServerScript.start(directory: "/tmp/pg")   // postgres://postgres@127.0.0.1:PORT/postgres
/// let database = try PostgresServerScript.createDatabase(server: url)
/// PostgresServerScript.stop(directory: "/tmp/pg")
/// ```
public enum PostgresServerScript {
    /// Starts a server with its data and socket in `directory` (installing PostgreSQL when missing).
    /// - parameter durable: keep fsync on (a benchmark); the tests turn it off.
    /// - returns: the URL of its `postgres` database.
    /// - throws: ``JobQueue/StoreError`` `.cannotOpen` when the script fails.
    public static func start(directory: String, durable: Bool = false) throws -> String {
        try run("start", directory, environment: durable ? ["AGENTQ_PG_DURABLE=1"] : [])
    }

    /// Stops the server and removes `directory`.
    public static func stop(directory: String) {
        _ = try? run("stop", directory)
    }

    /// A new empty database on the server at `server`.
    /// - returns: its URL.
    /// - throws: ``JobQueue/StoreError`` when the server cannot create it.
    public static func createDatabase(server url: String, prefix: String = "agentq_t") throws -> String {
        let server = try PostgresLocation(url: url)
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
        let admin = try PGDatabase(location: server, migrations: [], maximumConnections: 1)
        defer { admin.close() }
        try admin.read { try $0.run(script: "CREATE DATABASE \(name)") }
        return "postgres://\(server.user)@\(server.host):\(server.port)/\(name)?sslmode=disable"
    }

    /// `Tests/Support/postgres-test-server.sh` of this checkout.
    static var script: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Support/postgres-test-server.sh")
    }

    /// Runs the script with posix_spawn and waitpid: Foundation's `Process` can miss the exit
    /// of a child whose own child (the server) lives on.
    private static func run(_ command: String, _ directory: String, environment extra: [String] = []) throws -> String {
        let outputPath = NSTemporaryDirectory() + "agentq-pg-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let arguments = ["/bin/bash", "-c", "exec bash \"$0\" \"$1\" \"$2\" </dev/null >\"$3\"",
                         script.path, command, directory, outputPath]
        var cArguments = arguments.map { strdup($0) } + [nil]
        defer { for argument in cArguments { free(argument) } }
        let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } + extra
        var cEnvironment = environment.map { strdup($0) } + [nil]
        defer { for entry in cEnvironment { free(entry) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, &cArguments, &cEnvironment)
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
