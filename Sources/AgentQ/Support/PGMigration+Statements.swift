import JobQueue

extension PGMigration {
    /// A migration of several statements sent as one: a `DO` block around them.
    ///
    /// postgres-nio sends every query, a migration's too, as one prepared statement (it has no
    /// simple-query protocol), and PostgreSQL refuses a prepared statement holding several
    /// commands ("cannot insert multiple commands into a prepared statement"). A `DO` block is
    /// one command that runs its statements in the migration's transaction.
    ///
    /// ```swift
    /// static let migrations = [PGMigration.statements("agents-1-agents", "CREATE TABLE a (…); CREATE INDEX …;")]
    /// ```
    static func statements(_ name: String, _ sql: String) -> PGMigration {
        PGMigration(name, "DO $agentq_migration$ BEGIN\n\(sql)\nEND $agentq_migration$")
    }
}
