/// What `agentq migrate --to postgres://…` copied, table by table.
///
/// ```swift
/// let report = try PostgresImporter(source: home, target: queue).run()
/// print(report.summary)   // "copied 5000 jobs (12 attempt errors), 1 batch, … (already there: 0)"
/// ```
public struct MigrationReport: Sendable, Hashable {
    /// One table's figures: rows copied now, and rows skipped because the target had them.
    public struct Table: Sendable, Hashable {
        public var name: String
        public var copied = 0
        public var alreadyThere = 0
    }

    /// In the order they were copied.
    public var tables: [Table] = []
    /// Tables left out, with why (no PostgreSQL store for them yet).
    public var notCopied: [String] = []

    /// One line per table: `jobs: 5000 copied, 0 already there`.
    public var summary: String {
        var lines = tables.map { "\($0.name): \($0.copied) copied, \($0.alreadyThere) already there" }
        lines += notCopied.map { "not copied: \($0)" }
        return lines.joined(separator: "\n")
    }

    /// The figures of `name`.
    public subscript(name: String) -> Table? { tables.first { $0.name == name } }
}
