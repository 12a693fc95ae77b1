import GRDB
import JobQueue

/// Batch budgets in the `batch_budgets` table; spend is added in place, so every worker
/// process sees the same running total.
public final class SQLiteBatchBudgetStore: BatchBudgetStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-4-batch-budgets", sql: """
            CREATE TABLE batch_budgets (
                batch_id TEXT PRIMARY KEY NOT NULL,
                max_cost_usd REAL,
                max_tokens_total INTEGER,
                spent_cost_usd REAL NOT NULL DEFAULT 0,
                spent_tokens INTEGER NOT NULL DEFAULT 0
            );
            """),
        usageTotalsMigration,
        usageByStoreMigration,
    ]

    public func setBudget(_ budget: BatchBudget) throws {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                INSERT INTO batch_budgets (batch_id, max_cost_usd, max_tokens_total) VALUES (?, ?, ?)
                ON CONFLICT (batch_id) DO UPDATE SET max_cost_usd = excluded.max_cost_usd,
                    max_tokens_total = excluded.max_tokens_total
                """, arguments: [budget.batchID, budget.maxCostUSD, budget.maxTokensTotal])
        }
    }

    public func budget(batchID: String) throws -> BatchBudget? {
        try database.read(retryTransient: true) { db in try Self.fetch(batchID, db) }
    }

    public func recordSpend(batchID: String, usage: TokenUsage) throws -> BatchBudget? {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(
                sql: "UPDATE batch_budgets SET spent_cost_usd = spent_cost_usd + ?, spent_tokens = spent_tokens + ? WHERE batch_id = ?",
                arguments: [usage.costUSD, usage.totalTokens, batchID])
            return try Self.fetch(batchID, db)
        }
    }

    public func removeBudgetsOfRemovedBatches() throws -> Int {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "DELETE FROM batch_budgets WHERE batch_id NOT IN (SELECT id FROM batches)")
            return db.changesCount
        }
    }

    private static func fetch(_ batchID: String, _ db: Database) throws -> BatchBudget? {
        try Row.fetchOne(db, sql: """
            SELECT batch_id, max_cost_usd, max_tokens_total, spent_cost_usd, spent_tokens FROM batch_budgets WHERE batch_id = ?
            """, arguments: [batchID]
        ).map {
            BatchBudget(batchID: $0[0], maxCostUSD: $0[1], maxTokensTotal: $0[2], spentCostUSD: $0[3], spentTokens: $0[4])
        }
    }
}
