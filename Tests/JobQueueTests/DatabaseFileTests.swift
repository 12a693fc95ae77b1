import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

/// How ``SQLiteDatabase`` makes a new file, and that an existing one keeps what it was made with.
@Suite("The SQLite database file")
struct DatabaseFileTests {
    /// page_size, auto_vacuum (2: incremental) and journal_mode of the file at `path`, read by a
    /// connection of its own.
    func format(of path: String) throws -> (pageSize: Int, autoVacuum: Int, journal: String) {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0,
             try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? -1,
             try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "")
        }
    }

    /// Enqueues, claims and finishes one job through `database`: the file works.
    func roundTrip(_ database: SQLiteDatabase) throws {
        let store = SQLiteJobStore(database: database)
        _ = try store.enqueue(batch: NewBatch(source: "t")) { inserter in
            _ = try inserter.insert(NewJob(handler: "h", input: String(repeating: "y", count: 20_000)))
        }
        let claimed = try store.exchange(ExchangeRequest(workerID: "w", now: .now, claimLimit: 1)).claimed
        #expect(claimed.count == 1)
        #expect(claimed.first?.input.count == 20_000)
    }

    @Test("a new file gets 8 KiB pages, incremental vacuum and WAL")
    func newFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("new.db").path
        let database = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
        try roundTrip(database)
        let made = try format(of: path)
        #expect(made.pageSize == SQLiteDatabase.newFilePageSize)
        #expect(SQLiteDatabase.newFilePageSize == 8192)
        #expect(made.autoVacuum == 2)
        #expect(made.journal == "wal")
        #expect(try database.space().pageSize == 8192)
    }

    @Test("an empty file (made by touch) is formatted like a new one")
    func emptyFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("empty.db").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let database = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
        try roundTrip(database)
        #expect(try format(of: path).pageSize == 8192)
    }

    @Test("a file made with 4 KiB pages keeps them, and its jobs")
    func existingFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("old.db").path
        // As an earlier agentq made it: SQLite's default page size, WAL, the engine's schema.
        do {
            let old = try DatabaseQueue(path: path)
            try old.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA page_size = 4096; PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL")
            }
            try old.close()
        }
        let first = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
        try roundTrip(first)
        let reopened = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
        let counts = try SQLiteJobStore(database: reopened).counts(batchID: nil)
        #expect(counts[.running] == 1)
        #expect(try format(of: path).pageSize == 4096)
    }
}
