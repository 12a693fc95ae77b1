import Dispatch
import Foundation
import GRDB
import GRDBSQLite

/// One SQLite database file shared by every agentq process on a machine: WAL mode, a busy
/// timeout, `synchronous=NORMAL`, and versioned migrations applied under the write lock.
///
/// Each layer brings its own ``SQLiteMigration`` list; they are applied in order, once, and
/// recorded by name, so the engine's and the product's tables evolve independently.
///
/// ```swift
/// let database = try SQLiteDatabase(path: "/home/me/.agentq/agentq.db",
///                                   migrations: SQLiteJobStore.migrations)
/// let count = try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs") }
/// ```
/// - throws: ``StoreError``: `.schemaTooNew` for a file written by a newer agentq, else the
///   code of the SQLite error (`.notADatabase`, `.readOnly`, `.busy`, …; see ``StoreError/init(sqlite:path:)``).
public final class SQLiteDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool
    /// How long a statement waits for another process's write lock before failing with `.busy`.
    public let busyTimeout: TimeInterval
    /// The statements the store runs when it changes an output, from the migrations.
    public let outputHooks: [OutputHook]

    /// The busy timeout when neither the caller nor `AGENTQ_BUSY_TIMEOUT` sets one. Well under
    /// the default 30 s lease: writers hold the lock for milliseconds (a bulk submit commits
    /// in small transactions), so a longer wait means something is wrong.
    public static let defaultBusyTimeout: TimeInterval = 10

    /// - parameter busyTimeout: seconds to wait for the write lock; nil reads `AGENTQ_BUSY_TIMEOUT`
    ///   (seconds), else ``defaultBusyTimeout``.
    public init(path: String, migrations: [SQLiteMigration], busyTimeout: TimeInterval? = nil) throws {
        self.path = path
        outputHooks = migrations.compactMap(\.outputHook)
        let timeout = busyTimeout ?? Self.busyTimeoutFromEnvironment() ?? Self.defaultBusyTimeout
        self.busyTimeout = timeout
        var configuration = Configuration()
        // SQLite's own busy timeout sleeps up to 100 ms between tries, so a writer that commits
        // small transactions back to back (a bulk submit) can starve one that waits. Polling
        // every millisecond lets a heartbeat in between two of them.
        // Then every 5 ms after the first 2 s, to spare the processor during a long wait.
        let timeoutMilliseconds = Int(timeout * 1000)
        configuration.busyMode = .callback { tries in
            let waited = tries <= 2000 ? tries : 2000 + (tries - 2000) * 5
            guard waited < timeoutMilliseconds else { return false }
            usleep(tries < 2000 ? 1000 : 5000)
            return true
        }
        configuration.foreignKeysEnabled = false
        configuration.label = "agentq"
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode: a commit survives a crash of any process; only a power loss
            // can take back the last transactions, so the commits a user is told about are
            // synced by hand (``syncCommits()``). The larger page cache keeps a submission's
            // chunk from spilling pages mid-transaction.
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY")
            // Freed pages can be given back to the file system (``incrementalVacuum()``) only if
            // the file was made that way, before its first page is written (switching to WAL
            // writes it): so here, on a file with no page yet. An older home keeps its mode
            // until ``vacuum()`` rewrites it.
            if try Int.fetchOne(db, sql: "PRAGMA page_count") == 0 {
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
            }
        }
        Self.formatIfNew(path: path)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try pool.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        name TEXT PRIMARY KEY NOT NULL,
                        applied_at INTEGER NOT NULL)
                    """)
                let applied = Set(try String.fetchAll(db, sql: "SELECT name FROM schema_migrations"))
                // A change this build does not know means a newer agentq wrote the file: running
                // an older one on it could misread or damage what the newer one stored.
                if let unknown = applied.subtracting(migrations.map(\.name)).min() {
                    throw StoreError(
                        .schemaTooNew,
                        "\(path) was written by a newer agentq (it has the schema change '\(unknown)', unknown to this "
                            + "one): upgrade agentq, or pass --home with another directory")
                }
                for migration in migrations where !applied.contains(migration.name) {
                    try db.execute(sql: migration.sql)
                    try db.execute(
                        sql: "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                        arguments: [migration.name, Timestamp.now.milliseconds])
                }
            }
        } catch let error as DatabaseError {
            throw StoreError(sqlite: error, path: path, busyTimeout: timeout)
        }
    }

    /// The page size of a database file agentq creates, in bytes (SQLite's default is 4,096).
    ///
    /// Every page a transaction changes is written twice: to the WAL, then back into the file
    /// by a checkpoint, each logged page with two system calls. A million-line bulk submission
    /// logs some 150,000 pages of 4 KiB, and a third of its time was the kernel's; with 8 KiB
    /// pages it logs half as many frames and took 12–17 % less time (three interleaved pairs:
    /// 4.69–5.05 s against 5.36–5.73 s), while the engine's claim-and-finish loop used no more
    /// processor. Model outputs a few KiB long also spill into overflow pages less often. An
    /// existing file keeps its page size.
    public static let newFilePageSize = 8192

    /// Gives a file that has no page yet (absent, or empty) its page size and incremental
    /// vacuum, then switches it to WAL mode, which writes its first page and so fixes both.
    /// GRDB switches a pool's file to WAL before `prepareDatabase` runs: too late for a page size.
    /// Best effort: a file that cannot be opened here is left to the pool, whose error names
    /// it; one that another process formats at the same moment keeps what that one set.
    private static func formatIfNew(path: String) {
        var status = stat()
        if stat(path, &status) == 0 && status.st_size > 0 { return }
        var handle: OpaquePointer?
        defer { sqlite3_close(handle) }
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW
        guard sqlite3_open_v2(path, &handle, flags, nil) == SQLITE_OK else { return }
        sqlite3_busy_timeout(handle, 1000)
        let pragmas = "PRAGMA page_size = \(newFilePageSize); PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL"
        _ = sqlite3_exec(handle, pragmas, nil, nil, nil)
    }

    private static func busyTimeoutFromEnvironment() -> TimeInterval? {
        guard let text = ProcessInfo.processInfo.environment["AGENTQ_BUSY_TIMEOUT"],
            let seconds = TimeInterval(text), seconds.isFinite, seconds > 0
        else { return nil }
        return min(seconds, 3600)
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`).
    ///
    /// `body` gets how long this call waited for the write lock, in milliseconds, so a lease
    /// computed before the call can be extended by the wait: a lock wait alone never expires one.
    /// - parameter retryTransient: try again, with backoff, for up to three busy timeouts when
    ///   the lock stays taken or the file system fails; only for bodies with no effect outside
    ///   the transaction.
    /// - throws: ``StoreError`` (`.busy`, `.ioError`, `.database`), or what `body` throws.
    public func write<T>(retryTransient: Bool = false, _ body: (Database, _ waitedMilliseconds: Int64) throws -> T) throws -> T {
        try retrying(retryTransient) {
            let asked = DispatchTime.now().uptimeNanoseconds
            return try pool.write { db in
                try body(db, Int64((DispatchTime.now().uptimeNanoseconds - asked) / 1_000_000))
            }
        }
    }

    /// Runs `body` on a snapshot of the database (readers never wait for writers in WAL mode).
    /// - throws: ``StoreError``, or what `body` throws.
    public func read<T>(retryTransient: Bool = false, _ body: (Database) throws -> T) throws -> T {
        try retrying(retryTransient) { try pool.read(body) }
    }

    private func retrying<T>(_ retry: Bool, _ body: () throws -> T) throws -> T {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(busyTimeout * 3 * 1e9)
        var pause = 0.01
        while true {
            do {
                return try body()
            } catch let error as DatabaseError {
                let mapped = storeError(error)
                guard retry, mapped.isTransient, DispatchTime.now().uptimeNanoseconds < deadline else { throw mapped }
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 1)
            }
        }
    }

    /// A GRDB error as a ``StoreError`` whose message names this database's file.
    public func storeError(_ error: DatabaseError) -> StoreError {
        StoreError(sqlite: error, path: path, busyTimeout: busyTimeout)
    }

    /// Puts every transaction committed so far on the disk, so it survives a power cut.
    ///
    /// `synchronous=NORMAL` (see ``init(path:migrations:busyTimeout:)``) leaves the newest
    /// commits in the WAL file in the page cache until the next checkpoint; a commit a user is
    /// told about (a submit, a cancel, a retry) calls this first. One `fdatasync` of the WAL:
    /// milliseconds, and never on a worker's hot path.
    ///
    /// ```swift
    /// try store.enqueue(batch: batch) { … }   // calls it before returning
    /// ```
    /// - throws: ``StoreError`` `.io` naming the file when the disk refuses.
    public func syncCommits() throws {
        for candidate in [path + "-wal", path] {
            let descriptor = open(candidate, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            if fdatasync(descriptor) != 0 {
                throw StoreError(.io, "cannot sync \(candidate) to disk: \(String(cString: strerror(errno)))")
            }
            return
        }
    }
}

/// A named, append-only schema change.
public struct SQLiteMigration: Sendable {
    public var name: String
    public var sql: String
    /// What the store must run whenever it changes an output, once this migration's schema is
    /// in place (see ``OutputHook``).
    public var outputHook: OutputHook?

    public init(_ name: String, sql: String, outputHook: OutputHook? = nil) {
        self.name = name
        self.sql = sql
        self.outputHook = outputHook
    }

}
