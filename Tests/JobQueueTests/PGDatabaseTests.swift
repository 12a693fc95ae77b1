import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("PostgreSQL connection layer")
struct PGDatabaseTests {
    @Test("a URL prints without its password, and a bad one is named without it")
    func urls() throws {
        let location = try PostgresLocation(url: "postgres://agentq:s3cret@db.internal:6543/queue?sslmode=require")
        #expect(location.description == "postgres://agentq@db.internal:6543/queue")
        #expect(location.password == "s3cret")
        #expect(location.sslMode == .require)
        let error = try #require(throws: StoreError.self) {
            try PostgresLocation(url: "postgres://agentq:s3cret@db.internal/")
        }
        #expect(error.code == .cannotOpen)
        #expect(error.message.contains("database name is missing"))
        #expect(!error.message.contains("s3cret"))
        #expect(throws: StoreError.self) { try PostgresLocation(url: "mysql://u@h/db") }
        // A password in the query, or holding an @, never reaches an error either.
        for url in ["postgres://agentq@db.internal/queue?password=s3cret&color=blue",
                    "postgres://agentq:s3@cret@db.internal/queue?sslmode=nope"] {
            let refused = try #require(throws: StoreError.self) { try PostgresLocation(url: url) }
            #expect(!refused.message.contains("s3cret") && !refused.message.contains("cret"), "\(refused.message)")
        }
        #expect(try PostgresLocation(url: "postgres://agentq@db.internal/queue?password=s3cret").password == "s3cret")
        // Percent-encoded once, decoded once: %2541 is the three characters %41.
        #expect(try PostgresLocation(url: "postgres://agentq:a%2541@db.internal/queue").password == "a%41")
    }

    @Test("a store call inside another's transaction never waits for a connection of its own")
    func nestedUseDoesNotDeadlock() throws {
        let database = try PGDatabase(location: try PostgresLocation(url: try PostgresTestServer.freshDatabase()),
                                      migrations: [PGMigration("t", "CREATE TABLE t (v bigint)")], maximumConnections: 1)
        defer { database.close() }
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? database.write { connection in
                try connection.execute("INSERT INTO t VALUES (1)")
                // What a submit does (an agent looked up inside the enqueue), with the pool's
                // only connection held: this waited forever.
                return try database.read { try $0.scalar("SELECT count(*) FROM t", as: Int64.self) }
            }
            finished.signal()
        }
        #expect(finished.wait(timeout: .now() + 10) == .success)
    }

    @Test("hosts starting at once apply each migration once")
    func concurrentMigrations() throws {
        let url = try PostgresTestServer.freshDatabase()
        let migrations = [
            PGMigration("t-1", "CREATE TABLE t (id bigint PRIMARY KEY)"),
            PGMigration("t-2", "INSERT INTO t VALUES (1)"),
        ]
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                let database = try PGDatabase(location: try PostgresLocation(url: url), migrations: migrations)
                database.close()
            } catch { failures.increment() }
        }
        #expect(failures.value == 0)
        let database = try PGDatabase(location: try PostgresLocation(url: url), migrations: migrations)
        defer { database.close() }
        #expect(try database.read { try $0.scalar("SELECT count(*) FROM t", as: Int64.self) } == 1)
    }

    @Test("a database from a newer agentq is refused by name")
    func schemaTooNew() throws {
        let url = try PostgresTestServer.freshDatabase()
        let newer = try PGDatabase(location: try PostgresLocation(url: url), migrations: [PGMigration("a", "SELECT 1"), PGMigration("b", "SELECT 1")])
        newer.close()
        let error = try #require(throws: StoreError.self) {
            try PGDatabase(location: try PostgresLocation(url: url), migrations: [PGMigration("a", "SELECT 1")])
        }
        #expect(error.code == .schemaTooNew)
        #expect(error.message.contains("'b'"))
    }

    @Test("a server that is not there is a clear error without the password")
    func unreachable() throws {
        let error = try #require(throws: StoreError.self) {
            try PGDatabase(location: try PostgresLocation(url: "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable"), migrations: [])
        }
        #expect(error.code == .cannotOpen)
        #expect(error.message.contains("postgres://u@127.0.0.1:1/db"))
        #expect(!error.message.contains("hunter2"))
    }

    @Test("a rolled-back transaction leaves nothing; notify reaches a listener after commit")
    func transactionsAndNotify() throws {
        let database = try PGDatabase(location: try PostgresLocation(url: try PostgresTestServer.freshDatabase()),
                                      migrations: [PGMigration("t", "CREATE TABLE t (v text)")])
        defer { database.close() }
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try database.write { connection in
                try connection.execute("INSERT INTO t VALUES (\("x"))")
                throw Boom()
            }
        }
        #expect(try database.read { try $0.scalar("SELECT count(*) FROM t", as: Int64.self) } == 0)
        let received = SharedBox<[String]>([])
        let got = DispatchSemaphore(value: 0)
        let stop = try database.listen("agentq_test") { payload in
            received.update { $0.append(payload) }
            got.signal()
        }
        defer { stop() }
        try database.write { connection in
            try connection.execute("INSERT INTO t VALUES (\("y"))")
            database.notify("agentq_test", payload: "hello", on: connection)
        }
        #expect(got.wait(timeout: .now() + 5) == .success)
        #expect(received.current == ["hello"])
        // The clock: the database's time for now is within a second of now (same machine).
        let skew = database.databaseTime(for: .now).milliseconds - Timestamp.now.milliseconds
        #expect(abs(skew) < 1000)
    }
}
