/// Collects the jobs of one ``PostgresJobStore/enqueue(batch:_:)`` and writes them a few
/// thousand at a time, each chunk one `INSERT … SELECT … FROM unnest(…)` statement, inside the
/// submission's single transaction: a 100,000-line file is about 25 round trips, not 100,000.
///
/// ```swift
/// let inserter = PostgresJobInserter(connection: conn, batchID: nil, now: now, database: database)
/// try inserter.insert(NewJob(handler: "echo", input: "hi"))
/// try inserter.flush()
/// ```
final class PostgresJobInserter: JobInserter {
    /// Rows per statement: large enough that the round trip is noise, small enough that one
    /// statement's parameters stay a few megabytes.
    static let rowsPerStatement = 4096

    let connection: PGConnection
    let batchID: String?
    let now: Int64
    let database: PGDatabase
    private var buffered: [(id: String, job: NewJob)] = []
    private(set) var count = 0

    init(connection: PGConnection, batchID: String?, now: Int64, database: PGDatabase) {
        self.connection = connection
        self.batchID = batchID
        self.now = now
        self.database = database
    }

    func insert(_ job: NewJob) throws -> String {
        let id = SortableID.make(prefix: "job_")
        buffered.append((id, job))
        count += 1
        if buffered.count >= Self.rowsPerStatement { try flush() }
        return id
    }

    /// Writes what is buffered.
    /// - throws: ``StoreError``.
    func flush() throws {
        guard !buffered.isEmpty else { return }
        try Self.write(buffered, batchID: batchID, now: now, database: database, connection: connection)
        buffered.removeAll(keepingCapacity: true)
    }

    /// Inserts `rows` as queued jobs in one statement, in the order given (their `seq` order).
    /// - throws: ``StoreError``.
    static func write(
        _ rows: [(id: String, job: NewJob)], batchID: String?, now: Int64, database: PGDatabase, connection: PGConnection
    ) throws {
        guard !rows.isEmpty else { return }
        let ids = rows.map(\.id)
        let handlers = rows.map(\.job.handler)
        let inputs = rows.map(\.job.input)
        let priorities = rows.map { Int64($0.job.priority) }
        // A run_at the caller gave is a time on its host's clock.
        let runAts = rows.map { $0.job.runAt.map { database.databaseTime(for: $0).milliseconds } ?? now }
        let maxAttempts = rows.map { Int64($0.job.maxAttempts) }
        let customIDs = PGTextArray(rows.map(\.job.customID)).literal
        let lanes = PGTextArray(rows.map(\.job.lane)).literal
        let metadata = PGTextArray(rows.map(\.job.metadata)).literal
        let options = PGTextArray(rows.map(\.job.options)).literal
        let hosts = PGTextArray(rows.map(\.job.host)).literal
        try connection.execute("""
            INSERT INTO jobs (id, custom_id, batch_id, lane, handler, input, metadata, priority, run_at,
                              max_attempts, created_at, options, host, status)
            SELECT r.id, r.custom_id, \(batchID)::text, r.lane, r.handler, r.input, r.metadata, r.priority, r.run_at,
                   r.max_attempts, \(now), r.options, r.host, 'queued'
            FROM unnest(\(ids)::text[], \(customIDs)::text[], \(lanes)::text[], \(handlers)::text[], \(inputs)::text[],
                        \(metadata)::text[], \(priorities)::bigint[], \(runAts)::bigint[], \(maxAttempts)::bigint[],
                        \(options)::text[], \(hosts)::text[])
                 WITH ORDINALITY AS r(id, custom_id, lane, handler, input, metadata, priority, run_at, max_attempts,
                                      options, host, position)
            ORDER BY r.position
            """)
    }
}
