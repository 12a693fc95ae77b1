import Foundation
import GRDB
import JobQueue

/// `make bench`, the floor under the million-line submit: SQLite alone inserting the same
/// rows into the same table and indexes, in the same transactions, with nothing else to do.
///
/// Going live inserts each chunk of ``SQLiteJobStore/rowsPerTransaction`` jobs as one
/// transaction into `jobs`: the table and three B-trees of indexes (the ID's, the batch's, the
/// claim order's), the WAL and its checkpoints. Here the rows come from SQL itself (a
/// recursive CTE), with no file, parse, blob or trigger, into a database made by
/// ``SQLiteDatabase`` (the same page size, journal and pragmas) holding only the `jobs` table
/// and its indexes as agentq makes them. What agentq's submit takes beyond this is what agentq
/// adds; what this takes is the least any submit with this schema can take on this machine.
///
/// ```swift
/// let seconds = try SQLiteFloorBench(rows: 1_000_000).run()
/// ```
struct SQLiteFloorBench {
    let rows: Int

    /// - returns: the seconds the inserts and their commits took.
    /// - throws: when a database cannot be made.
    func run() throws -> Double {
        let directory = BenchDirectory.run.appendingPathComponent("sqlite-floor-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let schema = try jobsSchema(in: directory)
        let database = try SQLiteDatabase(
            path: directory.appendingPathComponent("floor.db").path,
            migrations: [SQLiteMigration("floor-jobs", sql: schema)])
        let now = Timestamp.now.milliseconds
        let chunk = SQLiteJobStore.rowsPerTransaction
        return try seconds {
            var first = 0
            while first < rows {
                let last = min(first + chunk, rows) - 1
                // IDs as long as agentq's (job_ + 26 characters), in order, as SortableID makes them.
                _ = try database.write { db, _ in
                    try db.execute(sql: """
                        WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                        INSERT INTO jobs (id, custom_id, batch_id, handler, input, priority, run_at,
                                          max_attempts, created_at, status)
                        SELECT printf('job_%026d', i), 'row-' || i, 'bat_01m8vdraj76tkcywwqa4vvt4cg', 'echo',
                               'Summarise item number ' || i || ' in one sentence.', 0, ?, 3, ?, 'queued'
                        FROM n
                        """, arguments: [first, last, now, now])
                }
                first = last + 1
            }
        }
    }

    /// The `jobs` table and its indexes as agentq's migrations leave them, without the
    /// triggers other tables hang on it (agentq's going live switches those off).
    private func jobsSchema(in directory: URL) throws -> String {
        let model = try SQLiteDatabase(
            path: directory.appendingPathComponent("model.db").path, migrations: SQLiteJobStore.migrations)
        let statements = try model.read { db in
            try String.fetchAll(db, sql: """
                SELECT sql FROM sqlite_master
                WHERE tbl_name = 'jobs' AND type IN ('table', 'index') AND sql IS NOT NULL
                ORDER BY type DESC
                """)
        }
        return statements.joined(separator: ";\n")
    }
}
