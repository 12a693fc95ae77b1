import AgentQ
import AgentQTesting
import Foundation
import GRDB
import JobQueue
import PostgresNIO

/// The product's stores (agents, sessions, budgets, rate limits, settings) on one driver, for
/// the conformance tests that run the same source against SQLite and PostgreSQL.
///
/// ``secondHost()`` opens the same database again, as another process (SQLite) or another
/// host (PostgreSQL: its own pool and its own measure of the database's clock) would.
///
/// ```swift
/// @Test(arguments: StoreDriver.allCases)
/// func roundTrip(_ driver: StoreDriver) throws {
///     let stores = try ProductStores(driver)
///     defer { stores.remove() }
///     try stores.agents.save(AgentDefinition(name: "a", provider: "echo", model: "echo"))
/// }
/// ```
final class ProductStores: @unchecked Sendable {
    let driver: StoreDriver
    let agents: any AgentStore
    let sessions: any SessionStore
    let budgets: any BatchBudgetStore
    let rateLimits: any RateLimitStore
    let settings: any SettingsStore
    private let directory: TemporaryDirectory?
    private let url: String?
    private let sqlite: SQLiteDatabase?
    private let postgres: PGDatabase?

    /// The engine's tables the budget store reads (`jobs`, `batches`), until the PostgreSQL job
    /// store brings its own: only the columns these tests write, named as in SQLite.
    static let engineTables = PGMigration("test-engine-tables", """
        DO $test$ BEGIN
        CREATE TABLE IF NOT EXISTS batches (id text PRIMARY KEY, source text, created_at bigint NOT NULL);
        CREATE TABLE IF NOT EXISTS jobs (
            seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, batch_id text, handler text NOT NULL, input text NOT NULL,
            run_at bigint NOT NULL, max_attempts integer NOT NULL, status text NOT NULL, output text, created_at bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id, seq);
        END $test$
        """)

    static let postgresMigrations = PostgresAgentStore.migrations + PostgresSessionStore.migrations
        + PostgresBatchBudgetStore.migrations + PostgresRateLimitStore.migrations + PostgresSettingsStore.migrations + [engineTables]

    /// A new empty database of `driver`.
    /// - throws: when it cannot be created (the PostgreSQL test server is started on first use).
    convenience init(_ driver: StoreDriver) throws {
        switch driver {
        case .sqlite: try self.init(driver, directory: TemporaryDirectory(prefix: "agentq-stores"), url: nil)
        case .postgres: try self.init(driver, directory: nil, url: driver.databaseURL())
        }
    }

    private init(_ driver: StoreDriver, directory: TemporaryDirectory?, url: String?) throws {
        self.driver = driver
        self.directory = directory
        self.url = url
        if let url {
            let database = try PGDatabase(
                location: PostgresLocation(url: url), migrations: Self.postgresMigrations, maximumConnections: 8)
            postgres = database
            sqlite = nil
            agents = PostgresAgentStore(database: database)
            sessions = PostgresSessionStore(database: database)
            budgets = PostgresBatchBudgetStore(database: database)
            rateLimits = PostgresRateLimitStore(database: database)
            settings = PostgresSettingsStore(database: database)
        } else {
            let path = directory!.url.appendingPathComponent("agentq.db").path
            let database = try SQLiteDatabase(path: path, migrations: AgentQueue.migrations)
            sqlite = database
            postgres = nil
            agents = SQLiteAgentStore(database: database)
            sessions = SQLiteSessionStore(database: database)
            budgets = SQLiteBatchBudgetStore(database: database)
            rateLimits = SQLiteRateLimitStore(database: database)
            settings = SQLiteSettingsStore(database: database)
        }
    }

    /// The same database opened again, as a second process or host.
    func secondHost() throws -> ProductStores {
        try ProductStores(driver, directory: directory, url: url)
    }

    /// How far apart two readings of one instant may be once stored: PostgreSQL keeps times on
    /// the database's clock, which each host measures with a round trip's uncertainty.
    var clockSlack: Int64 { driver == .sqlite ? 0 : 250 }

    /// Whether two times are the same instant, within ``clockSlack``.
    func same(_ a: Timestamp?, _ b: Timestamp?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return abs(a.milliseconds - b.milliseconds) <= clockSlack
    }

    /// Writes a batch row, as a submit does.
    func addBatch(_ id: String) throws {
        if let sqlite {
            try sqlite.pool.write { try $0.execute(sql: "INSERT INTO batches (id, created_at) VALUES (?, 0)", arguments: [id]) }
        } else {
            try postgres!.write { try $0.execute("INSERT INTO batches (id, created_at) VALUES (\(id), 0)") }
        }
    }

    /// Deletes a batch row, as a prune does.
    func removeBatch(_ id: String) throws {
        if let sqlite {
            try sqlite.pool.write { try $0.execute(sql: "DELETE FROM batches WHERE id = ?", arguments: [id]) }
        } else {
            try postgres!.write { try $0.execute("DELETE FROM batches WHERE id = \(id)") }
        }
    }

    /// Writes a finished job of `batchID` with `output`, as a worker's completion leaves it.
    func addFinishedJob(batchID: String, output: String?) throws {
        let id = "job_" + UUID().uuidString.prefix(12).lowercased()
        if let sqlite {
            try sqlite.pool.write {
                try $0.execute(sql: """
                    INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, status, output, created_at)
                    VALUES (?, ?, 'agent', '{}', 0, 3, 'succeeded', ?, 0)
                    """, arguments: [id, batchID, output])
            }
        } else {
            try postgres!.write {
                try $0.execute("""
                    INSERT INTO jobs (id, batch_id, handler, input, run_at, max_attempts, status, output, created_at)
                    VALUES (\(id), \(batchID), 'agent', '{}', 0, 3, 'succeeded', \(output), 0)
                    """)
            }
        }
    }

    /// Closes the connections and removes the SQLite file (a PostgreSQL test database stays
    /// until the test server goes).
    func remove() {
        postgres?.close()
        directory?.remove()
    }
}
