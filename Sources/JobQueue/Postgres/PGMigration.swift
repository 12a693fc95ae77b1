/// One named change to the PostgreSQL schema, applied once and recorded by name, like
/// ``SQLiteMigration``: each layer brings its own list and they are applied in order.
///
/// ```swift
/// static let migrations = [PGMigration("jobs-1-tables", "CREATE TABLE jobs (…)")]
/// ```
public struct PGMigration: Sendable {
    public var name: String
    /// One or more SQL statements, run in the migration's transaction.
    public var sql: String

    public init(_ name: String, _ sql: String) {
        self.name = name
        self.sql = sql
    }
}
