import GRDB

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
    static let columnCount: Int32 = 13

    let chunkRows: Int
    /// Called with each full chunk; the rows are dropped from ``buffered`` after it returns.
    let writeChunk: ([(id: String, job: NewJob)]) throws -> Void
    /// Rows not handed over yet.
    private(set) var buffered: [(id: String, job: NewJob)] = []
    private(set) var count = 0

    init(chunkRows: Int, writeChunk: @escaping ([(id: String, job: NewJob)]) throws -> Void) {
        self.chunkRows = chunkRows
        self.writeChunk = writeChunk
        buffered.reserveCapacity(min(chunkRows, 4096))
    }

    func insert(_ job: NewJob) throws -> String {
        let id = SortableID.make(prefix: "job_")
        buffered.append((id, job))
        count += 1
        if buffered.count >= chunkRows {
            try writeChunk(buffered)
            buffered.removeAll(keepingCapacity: true)
        }
        return id
    }

    /// Inserts `rows` with `status` (`queued`, or `staged` while their batch loads).
    /// - throws: a GRDB `DatabaseError`.
    static func write(_ rows: [(id: String, job: NewJob)], status: String, batchID: String?, now: Int64, db: Database) throws {
        var start = 0
        while start < rows.count {
            let end = min(start + rowsPerStatement, rows.count)
            let sql = statementSQL(rows: end - start, status: status)
            let statement = end - start == rowsPerStatement
                ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
            for (row, entry) in rows[start..<end].enumerated() {
                let base = Int32(row) * columnCount
                statement.bind(base + 1, entry.id)
                statement.bind(base + 2, entry.job.customID)
                statement.bind(base + 3, batchID)
                statement.bind(base + 4, entry.job.lane)
                statement.bind(base + 5, entry.job.handler)
                statement.bind(base + 6, entry.job.input)
                statement.bind(base + 7, entry.job.metadata)
                statement.bind(base + 8, entry.job.priority)
                statement.bind(base + 9, entry.job.runAt?.milliseconds ?? now)
                statement.bind(base + 10, entry.job.maxAttempts)
                statement.bind(base + 11, now)
                statement.bind(base + 12, entry.job.options)
                statement.bind(base + 13, status)
            }
            try statement.stepToCompletion(db)
            start = end
        }
    }

    private static func statementSQL(rows: Int, status: String) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return """
            INSERT INTO jobs (id, custom_id, batch_id, lane, handler, input, metadata, priority, run_at,
                              max_attempts, created_at, options, status)
            VALUES \(Array(repeating: row, count: rows).joined(separator: ", "))
            """
    }
}
