/// What agentq asks of the database under a queue, whichever driver holds it: where it is,
/// how big, and giving space back. ``SQLiteDatabase`` and ``PGDatabase`` conform.
///
/// `agentq stats`, `agentq prune --vacuum` and the retention policy go through this, so they
/// work the same on a home's SQLite file and on a PostgreSQL database many hosts share.
///
/// ```swift
/// let database: any QueueDatabase = queue.database
/// print("\(database.locationDescription): \(try database.space().fileBytes) bytes")
/// ```
public protocol QueueDatabase: Sendable {
    /// Where the database is, safe to print: a file path, or a URL without its password.
    var locationDescription: String { get }
    /// Its size and free space.
    /// - throws: ``StoreError``.
    func space() throws -> DatabaseSpace
    /// Compacts it in full (other writers may wait): SQLite's `VACUUM`, PostgreSQL's `VACUUM`.
    /// - throws: ``StoreError``.
    func vacuum() throws
    /// Gives freed space back in short steps; what autovacuum does by itself on PostgreSQL.
    /// - returns: pages returned, and the longest write-lock hold of one step in milliseconds.
    /// - throws: ``StoreError``.
    @discardableResult
    func incrementalVacuum() throws -> (pages: Int, largestHoldMilliseconds: Double)
    /// Makes every commit so far durable before a user is told about it (a no-op where a
    /// commit is already durable, as on PostgreSQL).
    /// - throws: ``StoreError`` `.io`.
    func syncCommits() throws
}
