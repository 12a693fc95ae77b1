import Foundation
import GRDB
import JobQueue

/// Small named settings kept in the queue's database (the retention policy), shared by every
/// process on the home.
///
/// ```swift
/// let settings = SQLiteSettingsStore(database: database)
/// try settings.set("retention.finished", "14d")
/// let finished = try settings.value("retention.finished")   // "14d"
/// ```
public final class SQLiteSettingsStore: SettingsStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-settings-1", sql: """
            CREATE TABLE settings (
                key TEXT PRIMARY KEY NOT NULL,
                value TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """)
    ]

    /// - throws: ``JobQueue/StoreError``.
    public func value(_ key: String) throws -> String? {
        try database.read(retryTransient: true) { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
        }
    }

    /// Every setting, by key.
    /// - throws: ``JobQueue/StoreError``.
    public func all() throws -> [(key: String, value: String)] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: "SELECT key, value FROM settings ORDER BY key").map { ($0[0], $0[1]) }
        }
    }

    /// - throws: ``JobQueue/StoreError``.
    public func set(_ key: String, _ value: String) throws {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (key) DO UPDATE SET value = ?2, updated_at = ?3
                """, arguments: [key, value, Timestamp.now.milliseconds])
        }
    }

    /// - returns: whether the key was set.
    /// - throws: ``JobQueue/StoreError``.
    @discardableResult
    public func unset(_ key: String) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [key])
            return db.changesCount > 0
        }
    }

    /// Records `now` under `key` if the time stored there is at least `interval` milliseconds
    /// old (or none is), in one write transaction: of many processes asking at once, exactly
    /// one gets `true` per interval.
    ///
    /// ```swift
    /// if try settings.claim("retention_last_run_at", now: .now, interval: 3_600_000) { runRetention() }
    /// ```
    /// - throws: ``JobQueue/StoreError``.
    public func claim(_ key: String, now: Timestamp, interval: Int64) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?2)
                ON CONFLICT (key) DO UPDATE SET value = ?2, updated_at = ?2
                WHERE CAST(settings.value AS INTEGER) <= ?2 - ?3
                """, arguments: [key, String(now.milliseconds), interval])
            return db.changesCount > 0
        }
    }
}
