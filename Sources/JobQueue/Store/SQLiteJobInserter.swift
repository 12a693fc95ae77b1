import GRDB
import GRDBSQLite

/// Collects the jobs of one ``SQLiteJobStore/enqueue(batch:_:)`` and hands them over in
/// chunks, so a large submission never holds the write lock for long.
///
/// ```swift
/// let inserter = SQLiteJobInserter(chunkRows: 4096) { rows in try writeChunk(rows) }
/// try inserter.insert(NewJob(handler: "echo", input: "hi"))
/// ```
final class SQLiteJobInserter: JobInserter {
    /// Rows per multi-row INSERT: per-statement overhead, not the B-tree work, is most of a
    /// single-row insert's cost.
    static let rowsPerStatement = 64
    static let columnCount: Int32 = 12
    /// A chunk is handed over at this much text even when it has fewer rows than `chunkRows`.
    /// A chunk is in memory up to three times (its rows, its blob, the rows read back to go
    /// live): at 32 MiB a file of 1–8 KB prompts took a submit to 100 MB of resident memory,
    /// at 4 MiB to 60 MB, in the same time. (A blob's own cap, a billion bytes, is far above.)
    static let chunkBytes = 4 << 20

    let chunkRows: Int
    /// Called with each full chunk; the rows are dropped from ``buffered`` after it returns.
    let writeChunk: (SQLiteJobRows) throws -> Void
    /// Rows not handed over yet.
    private(set) var buffered = SQLiteJobRows()
    private(set) var count = 0

    init(chunkRows: Int, writeChunk: @escaping (SQLiteJobRows) throws -> Void) {
        self.chunkRows = chunkRows
        self.writeChunk = writeChunk
        buffered.reserveCapacity(min(chunkRows, 4096))
    }

    func insert(_ job: NewJob) throws -> String {
        let id = SortableID.make(prefix: "job_")
        buffered.append(id: id, job)
        count += 1
        if buffered.count >= chunkRows || buffered.bytes.count >= Self.chunkBytes {
            try writeChunk(buffered)
            buffered.removeAll()
        }
        return id
    }

    /// Inserts `jobs`, queued, with new IDs.
    /// - throws: ``StoreError``.
    static func write(_ jobs: [NewJob], batchID: String?, now: Int64, db: Database) throws {
        var rows = SQLiteJobRows()
        rows.reserveCapacity(jobs.count)
        for job in jobs { rows.append(id: SortableID.make(prefix: "job_"), job) }
        try write(rows, batchID: batchID, now: now, db: db)
    }

    /// Inserts `rows`, queued.
    /// - throws: ``StoreError``, naming the job whose value SQLite refused.
    static func write(_ rows: SQLiteJobRows, batchID: String?, now: Int64, db: Database) throws {
        var start = 0
        while start < rows.count {
            let end = min(start + rowsPerStatement, rows.count)
            let sql = statementSQL(rows: end - start)
            let statement = end - start == rowsPerStatement
                ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            let handle = statement.sqliteStatement
            // Every value is bound in place (SQLITE_STATIC): the bytes stay put until the
            // statement has run and its bindings are cleared, all inside this closure.
            try rows.bytes.withUnsafeBufferPointer { bytes in
                try withUTF8(batchID) { batch in
                    for row in start..<end {
                        let base = Int32(row - start) * columnCount
                        let numbers = rows.numbers[row]
                        var codes: Int32 = 0
                        // Text columns in SQLiteJobRows' order: id, custom_id, lane, handler, input,
                        // metadata, options.
                        codes |= rows.bindText(handle, base + 1, row: row, column: 0, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 2, row: row, column: 1, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 4, row: row, column: 2, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 5, row: row, column: 3, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 6, row: row, column: 4, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 7, row: row, column: 5, base: bytes.baseAddress)
                        codes |= rows.bindText(handle, base + 12, row: row, column: 6, base: bytes.baseAddress)
                        codes |= bindTextInPlace(handle, base + 3, batch)
                        codes |= sqlite3_bind_int64(handle, base + 8, numbers.priority)
                        codes |= sqlite3_bind_int64(handle, base + 9, numbers.runAt == SQLiteJobRows.now ? now : numbers.runAt)
                        codes |= sqlite3_bind_int64(handle, base + 10, numbers.maxAttempts)
                        codes |= sqlite3_bind_int64(handle, base + 11, now)
                        if codes != SQLITE_OK {
                            sqlite3_clear_bindings(handle)
                            throw StoreError(.database, "job \(rows.id(of: row)) was not written: one of its values is too large for the database (\(String(cString: sqlite3_errstr(SQLITE_TOOBIG))))")
                        }
                    }
                    try statement.stepToCompletion(db)
                }
            }
            start = end
        }
    }

    private static func statementSQL(rows: Int) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')"
        return """
            INSERT INTO jobs (id, custom_id, batch_id, lane, handler, input, metadata, priority, run_at,
                              max_attempts, created_at, options, status)
            VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))
            """
    }
}

/// `text`'s UTF-8 bytes, or nil for nil, for as long as `body` runs.
private func withUTF8<R>(_ text: String?, _ body: (UnsafeBufferPointer<UInt8>?) throws -> R) rethrows -> R {
    guard var text else { return try body(nil) }
    return try text.withUTF8 { try body($0) }
}
