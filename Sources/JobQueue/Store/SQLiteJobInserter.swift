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
            // Through the buffer, fields read in place: iterating the array copied each row's
            // tuple (a retain and release of every string in it) for each of a million rows.
            rows.withUnsafeBufferPointer { buffer in
                for index in start..<end {
                    let base = Int32(index - start) * columnCount
                    statement.bind(base + 1, buffer[index].id)
                    statement.bind(base + 2, buffer[index].job.customID)
                    statement.bind(base + 3, batchID)
                    statement.bind(base + 4, buffer[index].job.lane)
                    statement.bind(base + 5, buffer[index].job.handler)
                    statement.bind(base + 6, buffer[index].job.input)
                    statement.bind(base + 7, buffer[index].job.metadata)
                    statement.bind(base + 8, buffer[index].job.priority)
                    statement.bind(base + 9, buffer[index].job.runAt?.milliseconds ?? now)
                    statement.bind(base + 10, buffer[index].job.maxAttempts)
                    statement.bind(base + 11, now)
                    statement.bind(base + 12, buffer[index].job.options)
                    statement.bind(base + 13, status)
                }
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
