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
        try PostgresServerScript.createDatabase(server: try serverURL(), prefix: prefix)
    }

    private static let started: Result<String, any Error> = Result { () throws -> String in
        if let url = ProcessInfo.processInfo.environment["AGENTQ_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("agentq-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        let url = try PostgresServerScript.start(directory: directory)
        scriptDirectory = directory
        atexit {
            if let directory = PostgresTestServer.scriptDirectory { PostgresServerScript.stop(directory: directory) }
        }
        return url
    }

    nonisolated(unsafe) private static var scriptDirectory: String?
}
