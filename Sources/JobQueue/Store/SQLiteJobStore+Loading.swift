import CSQLiteConfig
import GRDB
import GRDBSQLite

/// A bulk submission too large for one transaction: its jobs wait as chunks, then go live.
///
/// A million-line file cannot go in as one transaction without holding the write lock for
/// seconds, and its jobs must not be claimable until its last line has been checked. So the
/// batch is `loading` while its jobs are written a chunk (``rowsPerTransaction`` jobs, or
/// ``SQLiteJobInserter/chunkBytes`` of text) per short transaction, each chunk as one blob in
/// `batch_chunks` (``SQLiteJobRows/encoded()``), where no claim, list or count can see it. The
/// last chunk's transaction marks the batch `committing`; from then on it goes live even if
/// its process dies: a chunk per transaction becomes rows of `jobs`, queued, and its blob is
/// deleted in the same commit, so a crash at any point leaves each job either queued once or
/// still in its chunk. ``cleanUpAbandonedSubmissions(now:)`` finishes what a dead process left.
///
/// Until `jobqueue-8` a chunk was written straight into `jobs` with status `staged` and made
/// `queued` by an UPDATE of every row: each job was written to the table and its indexes, then
/// read and written again. A blob per chunk costs almost nothing to write, so each job's row is
/// now written once: with the binding below, 58.7k instructions a line before, 32.6k after
/// (callgrind, 100,000 lines). Rows staged by an older agentq are still made live or removed here.
///
/// ```swift
/// try store.enqueue(batch: NewBatch(source: "prompts.jsonl")) { inserter in
///     for job in millionJobs { try inserter.insert(job) }   // chunk by chunk, then live
/// }
/// ```
extension SQLiteJobStore {
    static let loadingChunksMigration = SQLiteMigration("jobqueue-8-loading-chunks", sql: """
        -- The jobs of a batch still loading or going live, a chunk per row (SQLiteJobRows'
        -- encoding); each chunk becomes rows of jobs, and is deleted, in one transaction.
        CREATE TABLE batch_chunks (
            seq INTEGER PRIMARY KEY,
            batch_id TEXT NOT NULL,
            rows BLOB NOT NULL
        );
        CREATE INDEX batch_chunks_batch ON batch_chunks (batch_id, seq);
        """)

    /// Chunk blobs deleted per transaction when a loading batch is removed (up to 32 MiB each).
    private static let chunksRemovedPerTransaction = 8

    /// Writes one chunk of a loading batch, which nothing sees until the batch goes live.
    /// - parameter thenCommit: the last chunk: mark the batch `committing` in the same transaction.
    /// - throws: ``StoreError``; the batch is then still `loading` (the caller removes it).
    func writeLoadingChunk(
        _ rows: SQLiteJobRows, batch: NewBatch, first: Bool, now: Int64, thenCommit: Bool = false
    ) throws {
        try write { db in
            let touched = Timestamp.now.milliseconds
            if first {
                try db.execute(
                    sql: "INSERT INTO batches (id, source, created_at, state, touched_at) VALUES (?, ?, ?, ?, ?)",
                    arguments: [batch.id, batch.source, now, thenCommit ? "committing" : "loading", touched])
            } else {
                // A batch cleaned up as abandoned (this process stalled for a minute) stays gone.
                try db.execute(
                    sql: "UPDATE batches SET touched_at = ?, state = ? WHERE id = ? AND state = 'loading'",
                    arguments: [touched, thenCommit ? "committing" : "loading", batch.id])
                guard db.changesCount == 1 else {
                    throw StoreError(.database, "the submission of batch \(batch.id) stalled for over a minute and was abandoned; submit the file again")
                }
            }
            guard rows.count > 0 else { return }
            let statement = try db.cachedStatement(sql: "INSERT INTO batch_chunks (batch_id, rows) VALUES (?, ?)")
            let blob = rows.encoded()
            try blob.withUnsafeBytes { blob in
                statement.bind(1, batch.id)
                let code = blob.count > Int(Int32.max)
                    ? SQLITE_TOOBIG
                    : sqlite3_bind_blob(statement.sqliteStatement, 2, blob.baseAddress, Int32(blob.count), nil)
                guard code == SQLITE_OK else {
                    sqlite3_clear_bindings(statement.sqliteStatement)
                    let largest = rows.largestRow()
                    throw StoreError(.database, """
                        job \(largest.id)\(largest.customID.map { " (custom_id \($0))" } ?? "") was not written: its \
                        \(largest.bytes) bytes of text are more than the database takes in one value
                        """)
                }
                try statement.stepToCompletion(db)
            }
        }
    }

    /// Makes a committed batch's chunks jobs, queued, a chunk per transaction in submission
    /// order, then marks the batch live.
    /// - throws: ``StoreError``; what is not live yet stays in its chunks, and is made live
    ///   by the next call (``cleanUpAbandonedSubmissions(now:)``).
    func makeLive(batchID: String) throws {
        var done = false
        while !done {
            done = try write { db in
                guard let createdAt = try Int64.fetchOne(
                    db, sql: "SELECT created_at FROM batches WHERE id = ?", arguments: [batchID])
                else { return true }
                _ = try Self.moveChunk(batchID: batchID, createdAt: createdAt, db: db)
                let more = try Self.hasChunks(batchID: batchID, db: db)
                try db.execute(
                    sql: "UPDATE batches SET state = ?, touched_at = ? WHERE id = ?",
                    arguments: [more ? "committing" : "live", more ? Timestamp.now.milliseconds : nil, batchID])
                return !more
            }
        }
    }

    /// Makes every chunk of a batch that is going live (`committing`) jobs at once, inside the
    /// caller's transaction, and marks it live: a cancel of the whole batch must reach the jobs
    /// still in chunks too. Nothing for a batch in any other state.
    static func makeLiveNow(batchID: String, db: Database) throws {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT created_at, state FROM batches WHERE id = ?", arguments: [batchID]),
            row[1] as String == "committing"
        else { return }
        while try moveChunk(batchID: batchID, createdAt: row[0], db: db) {}
        try db.execute(sql: "UPDATE batches SET state = 'live', touched_at = NULL WHERE id = ?", arguments: [batchID])
    }

    /// Whether the batch has jobs still waiting in chunks.
    private static func hasChunks(batchID: String, db: Database) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS (SELECT 1 FROM batch_chunks WHERE batch_id = ?)", arguments: [batchID]) ?? false
    }

    /// Makes the batch's first chunk jobs, queued and counted, and deletes it.
    /// - returns: false when the batch has no chunk left.
    private static func moveChunk(batchID: String, createdAt: Int64, db: Database) throws -> Bool {
        let select = try db.cachedStatement(
            sql: "SELECT seq, rows FROM batch_chunks WHERE batch_id = ? ORDER BY seq LIMIT 1")
        select.bind(1, batchID)
        let handle = select.sqliteStatement
        let code = sqlite3_step(handle)
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        switch code {
        case SQLITE_ROW:
            let seq = sqlite3_column_int64(handle, 0)
            let rows = try SQLiteJobRows(decoding: UnsafeRawBufferPointer(
                start: sqlite3_column_blob(handle, 1), count: Int(sqlite3_column_bytes(handle, 1))))
            sqlite3_reset(handle)
            try withoutTriggers(db) { triggersOff in
                try SQLiteJobInserter.write(rows, batchID: batchID, now: createdAt, db: db)
                // With the triggers on (SQLite refused to switch them off), they counted.
                if triggersOff { try countMadeLive(rows.count, batchID: batchID, db: db) }
            }
            try db.execute(sql: "DELETE FROM batch_chunks WHERE seq = ?", arguments: [seq])
            return true
        case SQLITE_DONE:
            return false
        default:
            throw StoreError(.database, String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Runs `body` with the connection's triggers switched off, and on again after it.
    ///
    /// A chunk's jobs go in as queued jobs of a batch, which the `AFTER INSERT` triggers on
    /// `jobs` would count one row at a time (an upsert of the batch's counter per job: more than
    /// the job's own insert). The caller counts the chunk with one statement instead. Only
    /// inside one write transaction: the connection is this caller's alone until it ends.
    /// - parameter body: gets whether the triggers are off (false if SQLite refused).
    private static func withoutTriggers<T>(_ db: Database, _ body: (Bool) throws -> T) rethrows -> T {
        let off = agentq_sqlite3_enable_triggers(db.sqliteConnection, 0) == 0
        defer {
            if off {
                let on = agentq_sqlite3_enable_triggers(db.sqliteConnection, 1)
                // Cannot fail (the same option was just accepted); carrying on without triggers would.
                precondition(on == 1, "SQLite did not switch the connection's triggers back on")
            }
        }
        return try body(off)
    }

    /// Makes queued the jobs an older agentq staged in `jobs` for a batch it committed, a
    /// chunk per transaction.
    private func makeStagedRowsLive(batchID: String) throws {
        var moved = 1
        while moved > 0 {
            moved = try write { db in
                try db.execute(sql: """
                    UPDATE jobs SET status = 'queued' WHERE seq IN (
                        SELECT seq FROM jobs WHERE batch_id = ? AND status = 'staged' ORDER BY seq LIMIT ?)
                    """, arguments: [batchID, Self.rowsPerTransaction])
                let moved = db.changesCount
                try Self.countMadeLive(moved, batchID: batchID, db: db)
                return moved
            }
        }
    }

    /// Deletes a loading batch's chunks (and any jobs an older agentq staged for it), a few per
    /// transaction, then the batch.
    func removeLoadingBatch(_ batchID: String) throws {
        var removed = 1
        while removed > 0 {
            removed = try write { db in
                try db.execute(sql: """
                    DELETE FROM batch_chunks WHERE seq IN (SELECT seq FROM batch_chunks WHERE batch_id = ? LIMIT ?)
                    """, arguments: [batchID, Self.chunksRemovedPerTransaction])
                var removed = db.changesCount
                try db.execute(sql: """
                    DELETE FROM jobs WHERE seq IN (
                        SELECT seq FROM jobs WHERE batch_id = ? AND status = 'staged' LIMIT ?)
                    """, arguments: [batchID, Self.rowsPerTransaction])
                removed += db.changesCount
                if removed == 0 {
                    try db.execute(sql: "DELETE FROM batches WHERE id = ? AND state = 'loading'", arguments: [batchID])
                }
                return removed
            }
        }
    }

    public func cleanUpAbandonedSubmissions(now: Timestamp) throws -> Int {
        let abandoned = try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, state FROM batches WHERE state != 'live' AND (touched_at IS NULL OR touched_at < ?)
                """, arguments: [now.milliseconds - Self.abandonedAfterMilliseconds])
        }
        for row in abandoned {
            let id: String = row[0]
            if row[1] as String == "committing" {
                // Rows staged in `jobs` by an older agentq: such a batch has no chunks.
                let chunked = try read { db in try Self.hasChunks(batchID: id, db: db) }
                if !chunked { try makeStagedRowsLive(batchID: id) }
                try makeLive(batchID: id)
            } else {
                try removeLoadingBatch(id)
            }
        }
        return abandoned.count
    }
}
