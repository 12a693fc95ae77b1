import Foundation
import GRDB

/// One SQLite database file shared by every agentq process on a machine: WAL mode, a busy
/// timeout, `synchronous=NORMAL`, and versioned migrations applied under the write lock.
///
/// Each layer brings its own ``SQLiteMigration`` list; they are applied in order, once, and
/// recorded by name, so the engine's and the product's tables evolve independently.
///
/// ```swift
/// let database = try SQLiteDatabase(path: "/home/me/.agentq/agentq.db",
///                                   migrations: SQLiteJobStore.migrations)
/// ```
/// - throws: ``StoreError``: `.schemaTooNew` for a file written by a newer agentq, else the
///   code of the SQLite error (`.notADatabase`, `.readOnly`, `.busy`, …; see ``StoreError/init(sqlite:path:)``).
public final class SQLiteDatabase: Sendable {
    public let path: String
    public let pool: DatabasePool

    /// How long a statement waits for another process's write lock before failing.
    public static let busyTimeout: TimeInterval = 60

    public init(path: String, migrations: [SQLiteMigration]) throws {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.foreignKeysEnabled = false
        configuration.label = "agentq"
        configuration.prepareDatabase { db in
            // NORMAL in WAL mode: a commit survives a crash of any process; only a power loss
            // can take back the last transactions. The larger page cache keeps a 100k-line
            // submission from spilling pages mid-transaction.
            try db.execute(sql: "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY")
        }
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
            throw StoreError(sqlite: error, path: path)
        }
    }
}

/// A named, append-only schema change.
public struct SQLiteMigration: Sendable {
    public var name: String
    public var sql: String
    public init(_ name: String, sql: String) {
        self.name = name
        self.sql = sql
    }
}
