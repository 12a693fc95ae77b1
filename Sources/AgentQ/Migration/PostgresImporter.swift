import Foundation
import GRDB
import JobQueue
import PostgresNIO

/// Copies a SQLite home's state into a PostgreSQL queue: `agentq migrate --to postgres://…`.
///
/// Jobs (queued and finished, with their attempt errors), batches, sessions with their history,
/// agents, budgets, paused lanes, settings and the OpenAI batch API's records keep their IDs.
/// Every row goes in with `ON CONFLICT DO NOTHING`, so a second run copies nothing twice, and
/// a job's attempt errors (a session's messages) go in the same transaction as the job (the
/// session): a run cut short leaves nothing half-copied that a rerun would skip.
///
/// A job gets a new `seq` (the target may hold other hosts' jobs already) in the source's
/// order; a session without a host gets the source home's, where its workspace lives, and its
/// queued turns are pinned there.
///
/// ```swift
/// let report = try PostgresImporter(source: sqliteQueue, target: postgresQueue).run()
/// print(report.summary)
/// ```
public struct PostgresImporter: Sendable {
    public let source: AgentQueue
    public let target: AgentQueue
    /// Rows per INSERT (a statement takes at most 65,535 parameters).
    static let chunk = 500

    /// - parameter source: a queue on its home's SQLite file; `target`: one on PostgreSQL.
    public init(source: AgentQueue, target: AgentQueue) {
        self.source = source
        self.target = target
    }

    /// Tables copied as they are, in order (keyed tables, so a rerun skips what is there).
    static let plainTables = ["agents", "settings", "paused_lanes"]
    /// After the jobs (they name batches), and what names those.
    static let laterTables = ["batch_budgets", "openai_files", "openai_batches", "openai_batch_rejected_lines", "schedules"]

    /// Copies everything; safe to run again.
    /// - throws: ``JobQueue/StoreError`` (either database), ``AgentQError`` `.invalidInput` when
    ///   the source is not SQLite or the target not PostgreSQL.
    public func run() throws -> MigrationReport {
        guard let sqlite = source.sqliteDatabase else {
            throw AgentQError(.invalidInput, "migrate copies a SQLite home: \(source.database.locationDescription) is not one")
        }
        guard let postgres = target.database as? PGDatabase else {
            throw AgentQError(.invalidInput, "migrate --to needs a postgres:// URL")
        }
        let columns = try postgresColumns(postgres)
        var report = MigrationReport()
        for table in Self.plainTables {
            report.tables.append(try copy(table, from: sqlite, to: postgres, columns: columns))
        }
        report.tables.append(try copy("batches", from: sqlite, to: postgres, columns: columns, where: "state = 'live'"))
        let (jobs, attempts) = try copyJobs(from: sqlite, to: postgres, columns: columns)
        report.tables += [jobs, attempts]
        let (sessions, messages) = try copySessions(from: sqlite, to: postgres, columns: columns)
        report.tables += [sessions, messages]
        for table in Self.laterTables {
            guard columns[table] != nil else {
                if try sqliteCount(table, sqlite) > 0 { report.notCopied.append("\(table) (no PostgreSQL table for them in this agentq)") }
                continue
            }
            report.tables.append(try copy(table, from: sqlite, to: postgres, columns: columns))
        }
        return report
    }

    // MARK: Tables

    private func copy(
        _ table: String, from sqlite: SQLiteDatabase, to postgres: PGDatabase, columns: [String: [String: String]],
        where condition: String = "1"
    ) throws -> MigrationReport.Table {
        var result = MigrationReport.Table(name: table)
        guard let targetColumns = columns[table] else { return result }
        let names = try sqliteColumns(table, sqlite).filter { targetColumns[$0] != nil }
        var offset = 0
        // Some tables have no rowid: the primary key orders the pages.
        let order = try sqlite.read { db in try db.primaryKey(table).columns.map { "\"\($0)\"" }.joined(separator: ", ") }
        while true {
            let rows = try sqlite.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) WHERE \(condition) ORDER BY \(order) LIMIT \(Self.chunk) OFFSET \(offset)")
            }
            if rows.isEmpty { break }
            let inserted = try postgres.write { connection in
                try insert(rows, into: table, columns: names, types: targetColumns, returning: "1", on: connection).count
            }
            result.copied += inserted
            result.alreadyThere += rows.count - inserted
            offset += rows.count
        }
        return result
    }

    /// Jobs of live batches (or none) in their order, each chunk with its jobs' attempt errors.
    private func copyJobs(
        from sqlite: SQLiteDatabase, to postgres: PGDatabase, columns: [String: [String: String]]
    ) throws -> (MigrationReport.Table, MigrationReport.Table) {
        var jobs = MigrationReport.Table(name: "jobs"), attempts = MigrationReport.Table(name: "attempt errors")
        guard let jobColumns = columns["jobs"], let attemptColumns = columns["job_attempt_errors"] else { return (jobs, attempts) }
        let names = try sqliteColumns("jobs", sqlite).filter { $0 != "seq" && jobColumns[$0] != nil }
        let attemptNames = try sqliteColumns("job_attempt_errors", sqlite).filter { attemptColumns[$0] != nil }
        var after: Int64 = 0
        while true {
            let rows = try sqlite.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT * FROM jobs WHERE seq > ? AND (batch_id IS NULL OR batch_id IN (SELECT id FROM batches WHERE state = 'live'))
                    ORDER BY seq LIMIT \(Self.chunk)
                    """, arguments: [after])
            }
            guard let last = rows.last else { break }
            after = last["seq"]
            let oldSeq = Dictionary(uniqueKeysWithValues: rows.map { (String($0["id"] as String), Int64($0["seq"] as Int64)) })
            let copiedAttempts = try postgres.write { connection -> (jobs: Int, attempts: Int) in
                let inserted = try insert(rows, into: "jobs", columns: names, types: jobColumns, returning: "id, seq", on: connection)
                    .map { try $0.decode((String, Int64).self) }
                guard !inserted.isEmpty else { return (0, 0) }
                var newSeq: [Int64: Int64] = [:]
                for (id, seq) in inserted { if let old = oldSeq[id] { newSeq[old] = seq } }
                let errors = try sqlite.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM job_attempt_errors WHERE job_seq IN (\(newSeq.keys.map(String.init).joined(separator: ","))) ORDER BY job_seq, attempt")
                }
                var renumbered: [Row] = []
                for error in errors {
                    var values = Dictionary(uniqueKeysWithValues: attemptNames.map { ($0, error[$0] as DatabaseValue) })
                    values["job_seq"] = newSeq[error["job_seq"] as Int64]?.databaseValue
                    renumbered.append(Row(values))
                }
                for start in stride(from: 0, to: renumbered.count, by: Self.chunk) {
                    _ = try insert(Array(renumbered[start..<min(start + Self.chunk, renumbered.count)]), into: "job_attempt_errors",
                                   columns: attemptNames, types: attemptColumns, returning: nil, on: connection)
                }
                return (inserted.count, errors.count)
            }
            jobs.copied += copiedAttempts.jobs
            jobs.alreadyThere += rows.count - copiedAttempts.jobs
            attempts.copied += copiedAttempts.attempts
        }
        return (jobs, attempts)
    }

    /// Sessions (with the source's host when they have none) and, with each chunk, their
    /// messages; their queued turns are pinned to the session's host.
    private func copySessions(
        from sqlite: SQLiteDatabase, to postgres: PGDatabase, columns: [String: [String: String]]
    ) throws -> (MigrationReport.Table, MigrationReport.Table) {
        var sessions = MigrationReport.Table(name: "sessions"), messages = MigrationReport.Table(name: "session messages")
        guard let sessionColumns = columns["sessions"], let messageColumns = columns["session_messages"] else { return (sessions, messages) }
        let names = try sqliteColumns("sessions", sqlite).filter { sessionColumns[$0] != nil }
        let messageNames = try sqliteColumns("session_messages", sqlite).filter { messageColumns[$0] != nil }
        let host = source.hostID
        var offset = 0
        while true {
            let rows = try sqlite.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM sessions ORDER BY id LIMIT \(Self.chunk) OFFSET \(offset)")
            }
            if rows.isEmpty { break }
            offset += rows.count
            let withHost = rows.map { row -> Row in
                var values = Dictionary(uniqueKeysWithValues: names.map { ($0, row[$0] as DatabaseValue) })
                if names.contains("host"), values["host"]?.isNull ?? true { values["host"] = host.databaseValue }
                return Row(values)
            }
            let counts = try postgres.write { connection -> (sessions: Int, messages: Int) in
                let inserted = try insert(withHost, into: "sessions", columns: names, types: sessionColumns, returning: "id, host",
                                          on: connection).map { try $0.decode((String, String?).self) }
                guard !inserted.isEmpty else { return (0, 0) }
                let ids = inserted.map(\.0)
                var copied = 0
                for id in ids {
                    let history = try sqlite.read { db in
                        try Row.fetchAll(db, sql: "SELECT * FROM session_messages WHERE session_id = ? ORDER BY seq", arguments: [id])
                    }
                    for start in stride(from: 0, to: history.count, by: Self.chunk) {
                        _ = try insert(Array(history[start..<min(start + Self.chunk, history.count)]), into: "session_messages",
                                       columns: messageNames, types: messageColumns, returning: nil, on: connection)
                    }
                    copied += history.count
                }
                // A queued turn needs the workspace: only the session's host may claim it.
                for (id, sessionHost) in inserted {
                    guard let sessionHost else { continue }
                    try connection.execute(
                        "UPDATE jobs SET host = \(sessionHost) WHERE lane = \(id) AND status = 'queued' AND host IS NULL")
                }
                return (inserted.count, copied)
            }
            sessions.copied += counts.sessions
            sessions.alreadyThere += rows.count - counts.sessions
            messages.copied += counts.messages
        }
        return (sessions, messages)
    }

    // MARK: Rows

    /// One multi-row INSERT … ON CONFLICT DO NOTHING, each value cast to its column's type
    /// (SQLite's 0/1 become booleans).
    /// - returns: the rows `returning` names, of the rows inserted.
    private func insert(
        _ rows: [Row], into table: String, columns: [String], types: [String: String], returning: String?,
        on connection: PGConnection
    ) throws -> [PostgresRow] {
        guard !rows.isEmpty else { return [] }
        var bindings = PostgresBindings()
        var tuples: [String] = []
        var index = 0
        for row in rows {
            var placeholders: [String] = []
            for column in columns {
                index += 1
                let type = types[column] ?? "text"
                placeholders.append("$\(index)::\(type)")
                try bind(row[column] as DatabaseValue, as: type, into: &bindings)
            }
            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
        }
        let quoted = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        var sql = "INSERT INTO \(table) (\(quoted)) VALUES \(tuples.joined(separator: ", ")) ON CONFLICT DO NOTHING"
        if let returning { sql += " RETURNING \(returning)" }
        return try connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings))
    }

    private func bind(_ value: DatabaseValue, as type: String, into bindings: inout PostgresBindings) throws {
        switch value.storage {
        case .null: bindings.appendNull()
        case .int64(let number):
            switch type {
            case "boolean": bindings.append(number != 0)
            case "double precision", "real": bindings.append(Double(number))
            case "text": bindings.append(String(number))
            default: bindings.append(number)
            }
        case .double(let number):
            if type == "bigint" || type == "integer" { bindings.append(Int64(number)) } else { bindings.append(number) }
        case .string(let text): bindings.append(text)
        case .blob(let data): bindings.append(String(decoding: data, as: UTF8.self))
        }
    }

    /// Each target table's columns and their types.
    private func postgresColumns(_ postgres: PGDatabase) throws -> [String: [String: String]] {
        try postgres.read { connection in
            var tables: [String: [String: String]] = [:]
            for row in try connection.query("""
                SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns
                WHERE table_schema = current_schema()
                """) {
                let (table, column, type) = try row.decode((String, String, String).self)
                tables[table, default: [:]][column] = type
            }
            return tables
        }
    }

    private func sqliteColumns(_ table: String, _ sqlite: SQLiteDatabase) throws -> [String] {
        try sqlite.read { db in try db.columns(in: table).map(\.name) }
    }

    private func sqliteCount(_ table: String, _ sqlite: SQLiteDatabase) throws -> Int {
        try sqlite.read { db in
            guard try db.tableExists(table) else { return 0 }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? 0
        }
    }
}
