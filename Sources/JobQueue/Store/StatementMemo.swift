import GRDB

/// The statements one transaction runs for each of many jobs, found once per transaction.
///
/// GRDB finds a cached statement by hashing its whole SQL text. For a worker's round trip that
/// meant, per finished job, the finishing UPDATE (300 bytes) and a batch-usage hook (1.9 KB):
/// about 13k instructions a job, a twentieth of the end-to-end drain's work in the worker.
/// Here each is looked up by a small number instead, for as long as the transaction lasts.
///
/// ```swift
/// let memo = StatementMemo(db)
/// for job in jobs {
///     let statement = try memo.statement(StatementMemo.finish) { "UPDATE jobs SET … WHERE seq = ?" }
///     …
/// }
/// ```
final class StatementMemo {
    /// The finishing UPDATE of a worker's outcome.
    static let finish = 0
    /// The output hook at `index` of ``SQLiteDatabase/outputHooks``.
    static func hook(_ index: Int) -> Int { 1 + index }

    private let db: Database
    private var statements: [Statement?] = []

    init(_ db: Database) { self.db = db }

    /// The statement in `slot`, prepared (or found in GRDB's cache) from `sql` the first time.
    /// - throws: a GRDB `DatabaseError` when `sql` does not prepare.
    func statement(_ slot: Int, _ sql: () -> String) throws -> Statement {
        if slot < statements.count, let statement = statements[slot] { return statement }
        let statement = try db.cachedStatement(sql: sql())
        if slot >= statements.count { statements += Array(repeating: nil, count: slot + 1 - statements.count) }
        statements[slot] = statement
        return statement
    }
}
