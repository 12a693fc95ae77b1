import Foundation
import GRDB
import JobQueue
import PostgresNIO

/// A fresh, empty ``JobStore`` of one driver: what the engine's conformance tests run against,
/// the same test body for SQLite and PostgreSQL.
///
/// SQLite: a database file in a temporary directory. PostgreSQL: a new database on the
/// throwaway test server (``PostgresTestServer``).
///
/// ```swift
/// @Test(arguments: StoreDriver.allCases)
/// func claims(_ driver: StoreDriver) throws {
///     let test = try TestStore(driver)
///     defer { test.remove() }
///     try test.store.enqueue(batch: nil) { try $0.insert(NewJob(handler: "h", input: "x")) }
/// }
/// ```
/// - throws: when the database cannot be created or opened.
public final class TestStore: @unchecked Sendable {
    public let driver: StoreDriver
    /// The store the test uses.
    public let store: any JobStore
    /// The SQLite file, or nil.
    public let path: String?
    /// The PostgreSQL database's URL, or nil.
    public let url: String?
    private let directory: TemporaryDirectory
    private let lock = NSLock()
    private var opened: [PGDatabase] = []

    /// Connections each PostgreSQL store of a test opens at most (the server serves many tests).
    public static let connectionsPerStore = 8

    public init(_ driver: StoreDriver = .sqlite, wake: (any WakeSignal)? = nil) throws {
        self.driver = driver
        directory = try TemporaryDirectory(prefix: "agentq-store")
        switch driver {
        case .sqlite:
            path = directory.url.appendingPathComponent("queue.db").path
            url = nil
        case .postgres:
            path = nil
            url = try driver.databaseURL()
        }
        if let path {
            store = SQLiteJobStore(
                database: try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations), wake: wake)
        } else {
            let database = try Self.openDatabase(url: url, clock: SystemTimeSource(), connections: Self.connectionsPerStore)
            opened.append(database)
            store = PostgresJobStore(database: database, wake: wake)
        }
    }

    /// Opens a second, independent connection (pool) to the same database, as another process
    /// (or, for PostgreSQL, another host) would.
    /// - parameter clock: the host's clock (PostgreSQL maps its times onto the database's).
    /// - parameter wake: a wake signal; `.postgres` passes nil and gets none.
    public func openAnotherStore(wake: (any WakeSignal)? = nil, clock: any TimeSource = SystemTimeSource()) throws
        -> any JobStore
    {
        if let path {
            return SQLiteJobStore(database: try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations), wake: wake)
        }
        let database = try openDatabase(clock: clock)
        return PostgresJobStore(database: database, wake: wake)
    }

    /// A new ``PGDatabase`` on this test's PostgreSQL database, closed by ``remove()``.
    /// - throws: for SQLite, or when it cannot be opened.
    public func openDatabase(clock: any TimeSource = SystemTimeSource(), connections: Int = TestStore.connectionsPerStore)
        throws -> PGDatabase
    {
        let database = try Self.openDatabase(url: url, clock: clock, connections: connections)
        lock.lock()
        opened.append(database)
        lock.unlock()
        return database
    }

    private static func openDatabase(url: String?, clock: any TimeSource, connections: Int) throws -> PGDatabase {
        guard let url else { throw StoreError(.cannotOpen, "not a PostgreSQL test store") }
        return try PGDatabase(
            location: try PostgresLocation(url: url), migrations: PostgresJobStore.migrations,
            maximumConnections: connections, clock: clock)
    }

    /// The first column of the first row of `sql` (plain SQL both drivers understand), as an Int.
    /// - throws: a driver error.
    public func count(_ sql: String) throws -> Int {
        if let path {
            let database = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
            return try database.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
        }
        let database = try openDatabase(connections: 1)
        defer { database.close() }
        return try database.read { try $0.scalar(PostgresQuery(unsafeSQL: sql), as: Int.self) } ?? 0
    }

    /// Closes every PostgreSQL connection and removes the files.
    public func remove() {
        lock.lock()
        let databases = opened
        opened = []
        lock.unlock()
        for database in databases { database.close() }
        directory.remove()
    }
}
