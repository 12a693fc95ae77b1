import Dispatch
import Foundation
import GRDB

/// How big an ``SQLiteDatabase`` is, and how much of it is free.
public struct DatabaseSpace: Sendable, Hashable {
    /// Bytes of the database file itself (without its `-wal` file).
    public var fileBytes: Int64
    /// Bytes of the `-wal` file (changes not yet copied into the database file).
    public var walBytes: Int64
    public var pageSize: Int
    public var pageCount: Int
    /// Pages that hold nothing: reused by later writes, or returned to the file system by an
    /// incremental vacuum.
    public var freePages: Int
    /// Whether freed pages can be returned without rewriting the file (`auto_vacuum = INCREMENTAL`).
    public var incrementalVacuum: Bool
}

/// Giving freed space back to the file system.
extension SQLiteDatabase {
    /// Pages one incremental-vacuum step moves and truncates: a few megabytes, held under the
    /// write lock for milliseconds.
    public static let vacuumPagesPerStep = 512

    /// The file's size, free pages and vacuum mode.
    /// - throws: ``StoreError``.
    public func space() throws -> DatabaseSpace {
        try read(retryTransient: true) { db in
            DatabaseSpace(
                fileBytes: Self.size(of: path), walBytes: Self.size(of: path + "-wal"),
                pageSize: try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096,
                pageCount: try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0,
                freePages: try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0,
                incrementalVacuum: try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") == 2)
        }
    }

    /// Returns free pages to the file system, ``vacuumPagesPerStep`` per write transaction so
    /// no other writer waits long, then checkpoints the log so the file itself shrinks.
    ///
    /// Does nothing on a file made before agentq turned on incremental vacuum (see ``vacuum()``).
    /// ```swift
    /// let (pages, largestHold) = try database.incrementalVacuum()
    /// ```
    /// - returns: pages returned, and the longest write-lock hold of one step in milliseconds.
    /// - throws: ``StoreError``.
    @discardableResult
    public func incrementalVacuum() throws -> (pages: Int, largestHoldMilliseconds: Double) {
        guard try read(retryTransient: true, { db in try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") }) == 2 else {
            return (0, 0)
        }
        var pages = 0
        var largest = 0.0
        while true {
            let (freed, hold) = try timedWrite { db in
                let before = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                guard before > 0 else { return 0 }
                try db.execute(sql: "PRAGMA incremental_vacuum(\(Self.vacuumPagesPerStep))")
                return before - (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0)
            }
            largest = max(largest, hold)
            pages += freed
            if freed <= 0 { break }
        }
        // The file shrinks when the log is copied back into it. PASSIVE never waits for other
        // processes (a busy reader just leaves the rest to a later checkpoint).
        _ = try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)") }
        return (pages, largest)
    }

    /// Rewrites the whole file without its free pages and switches it to incremental vacuum,
    /// for homes made before agentq turned it on. Other processes' writes wait until it is
    /// done (seconds for a large file): run it when no worker is busy.
    /// - throws: ``StoreError``.
    public func vacuum() throws {
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA auto_vacuum = INCREMENTAL")
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(PASSIVE)")
            }
        } catch let error as DatabaseError {
            throw storeError(error)
        }
    }

    /// Runs `body` in a write transaction (retrying transient errors) and measures how long it
    /// held the write lock: from getting the lock through the commit, without the wait for it.
    ///
    /// ```swift
    /// let (count, holdMilliseconds) = try database.timedWrite { db in try deleteSomeRows(db) }
    /// ```
    /// - throws: ``StoreError``, or what `body` throws.
    public func timedWrite<T>(_ body: (Database) throws -> T) throws -> (T, Double) {
        let started = DispatchTime.now().uptimeNanoseconds
        var waited: Int64 = 0
        let value = try write(retryTransient: true) { db, waitedMilliseconds in
            waited = waitedMilliseconds
            return try body(db)
        }
        return (value, max(0, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6 - Double(waited)))
    }

    private static func size(of path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }
}
