import JobQueue
import PostgresNIO

/// Batch budgets in PostgreSQL's `batch_budgets` table: ``SQLiteBatchBudgetStore`` for many
/// hosts on one database. Spend is added in place by one `UPDATE … RETURNING`, so every worker
/// on every host sees (and adds to) the same running total.
///
/// ```swift
/// let database = try PGDatabase(location: PostgresLocation(url: url), migrations: PostgresBatchBudgetStore.migrations)
/// let budgets = PostgresBatchBudgetStore(database: database)
/// try budgets.setBudget(BatchBudget(batchID: "bat_…", maxCostUSD: 5, maxTokensTotal: nil))
/// ```
public final class PostgresBatchBudgetStore: BatchBudgetStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    public static let migrations: [PGMigration] = [
        PGMigration("budgets-1-batch-budgets", """
            CREATE TABLE batch_budgets (
                batch_id text PRIMARY KEY,
                max_cost_usd double precision,
                max_tokens_total bigint,
                spent_cost_usd double precision NOT NULL DEFAULT 0,
                spent_tokens bigint NOT NULL DEFAULT 0
            );
            """),
        usageFunctionMigration,
    ]

    public func setBudget(_ budget: BatchBudget) throws {
        try database.write { connection in
            try connection.execute("""
                INSERT INTO batch_budgets (batch_id, max_cost_usd, max_tokens_total)
                VALUES (\(budget.batchID), \(budget.maxCostUSD), \(budget.maxTokensTotal))
                ON CONFLICT (batch_id) DO UPDATE SET max_cost_usd = excluded.max_cost_usd,
                    max_tokens_total = excluded.max_tokens_total
                """)
        }
    }

    public func budget(batchID: String) throws -> BatchBudget? {
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.columns) FROM batch_budgets WHERE batch_id = \(batchID)
                """).first.map(Self.budget)
        }
    }

    public func recordSpend(batchID: String, usage: TokenUsage) throws -> BatchBudget? {
        try database.write { connection in
            // One statement: the row lock makes concurrent spends from any host add up.
            try connection.query("""
                UPDATE batch_budgets SET spent_cost_usd = spent_cost_usd + \(usage.costUSD),
                    spent_tokens = spent_tokens + \(usage.totalTokens)
                WHERE batch_id = \(batchID) RETURNING \(unescaped: Self.columns)
                """).first.map(Self.budget)
        }
    }

    public func removeBudgetsOfRemovedBatches() throws -> Int {
        try database.write { connection in
            try connection.execute("""
                DELETE FROM batch_budgets b WHERE NOT EXISTS (SELECT 1 FROM batches WHERE batches.id = b.batch_id)
                """)
        }
    }

    static let columns = "batch_id, max_cost_usd, max_tokens_total, spent_cost_usd, spent_tokens"

    private static func budget(_ row: PostgresRow) throws -> BatchBudget {
        let (batchID, maxCost, maxTokens, spentCost, spentTokens) = try row.decode((String, Double?, Int?, Double, Int).self)
        return BatchBudget(
            batchID: batchID, maxCostUSD: maxCost, maxTokensTotal: maxTokens, spentCostUSD: spentCost, spentTokens: spentTokens)
    }
}
