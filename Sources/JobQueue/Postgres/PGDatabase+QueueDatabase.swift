/// A PostgreSQL database as the queue's database: its size from `pg_database_size`, its
/// location the URL without the password.
extension PGDatabase: QueueDatabase {
    public var locationDescription: String { location.description }

    /// The database's size on the server; PostgreSQL manages free space itself, so there are
    /// no free pages to report and nothing for `agentq prune --vacuum` to switch on.
    /// - throws: ``StoreError``.
    public func space() throws -> DatabaseSpace {
        let bytes = try read { try $0.scalar("SELECT pg_database_size(current_database())", as: Int64.self) } ?? 0
        let pageSize = 8192
        return DatabaseSpace(
            fileBytes: bytes, walBytes: 0, pageSize: pageSize, pageCount: Int(bytes / Int64(pageSize)), freePages: 0,
            incrementalVacuum: true)
    }

    /// `VACUUM (ANALYZE)` of agentq's tables, outside a transaction as PostgreSQL requires;
    /// unlike SQLite's, other hosts' reads and writes go on meanwhile.
    /// - throws: ``StoreError``.
    public func vacuum() throws {
        try read { try $0.run(script: "VACUUM (ANALYZE)") }
    }

    /// Nothing to do: autovacuum returns dead rows' space on its own schedule.
    public func incrementalVacuum() throws -> (pages: Int, largestHoldMilliseconds: Double) { (0, 0) }

    /// Nothing to do: a PostgreSQL commit is durable (and replicated, if so set up) when it returns.
    public func syncCommits() throws {}
}
