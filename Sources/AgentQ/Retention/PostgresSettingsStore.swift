import JobQueue

/// Small named settings in PostgreSQL, shared by every process on every host:
/// ``SQLiteSettingsStore`` on a shared database.
///
/// ```swift
/// let settings = PostgresSettingsStore(database: database)
/// try settings.set("retention.finished", "14d")
/// if try settings.claim("retention_last_run_at", now: .now, interval: 3_600_000) { runRetention() }
/// ```
public final class PostgresSettingsStore: SettingsStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    /// `COLLATE "C"`: keys sort by their bytes, as in SQLite.
    public static let migrations: [PGMigration] = [
        PGMigration("settings-1-settings", """
            CREATE TABLE settings (
                key text COLLATE "C" PRIMARY KEY,
                value text NOT NULL,
                updated_at bigint NOT NULL
            );
            """)
    ]

    public func value(_ key: String) throws -> String? {
        try database.read { try $0.scalar("SELECT value FROM settings WHERE key = \(key)", as: String.self) }
    }

    public func all() throws -> [(key: String, value: String)] {
        try database.read { connection in
            try connection.query("SELECT key, value FROM settings ORDER BY key").map { row in
                let (key, value) = try row.decode((String, String).self)
                return (key, value)
            }
        }
    }

    public func set(_ key: String, _ value: String) throws {
        let now = database.databaseTime(for: .now).milliseconds
        try database.write { connection in
            try connection.execute("""
                INSERT INTO settings (key, value, updated_at) VALUES (\(key), \(value), \(now))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """)
        }
    }

    public func unset(_ key: String) throws -> Bool {
        try database.write { try $0.execute("DELETE FROM settings WHERE key = \(key)") > 0 }
    }

    /// The time is the database's (every host's claims compare on one clock). The upsert locks
    /// the row and checks the stored time again once it holds it, so of hosts claiming at once
    /// exactly one updates it.
    public func claim(_ key: String, now: Timestamp, interval: Int64) throws -> Bool {
        let now = database.databaseTime(for: now).milliseconds
        return try database.write { connection in
            // A value that is not a whole number counts as 0 (long ago), as SQLite's CAST does.
            try connection.execute("""
                INSERT INTO settings (key, value, updated_at) VALUES (\(key), \(String(now)), \(now))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                WHERE (CASE WHEN settings.value ~ '^-?[0-9]{1,18}$' THEN settings.value::bigint ELSE 0 END) <= \(now - interval)
                """) > 0
        }
    }
}
