import GRDB
import JobQueue

/// A batch's token and cost totals, kept by the database as its jobs' outputs change, so
/// `batch status` reads one row instead of parsing the JSON of every finished job (1.4 µs
/// a job: over a second for a million).
///
/// `batch_usage` holds, per batch, the sums of the `usage` object of its jobs' outputs: what
/// `SUM(json_extract(output, '$.usage.…'))` over the batch gives, cost in whole micro-dollars
/// (outputs carry it with six decimals, so the integer sum is exact where a sum of doubles
/// drifts with the order of the additions). A job's output is added when it is written and
/// taken back when it is replaced (a retry) or deleted (a prune), in the same transaction,
/// whichever process made the change: by triggers on insert and delete, and by the job store
/// itself when it changes an output (``usageByStoreMigration`` says why). An output with no
/// `"usage"` in it adds nothing, so it is skipped before anything is parsed.
///
/// ```swift
/// let usage = try budgets.usage(batchID: "bat_…")   // one row, whatever the batch's size
/// ```
extension SQLiteBatchBudgetStore {
    private static let fields = ["input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens"]

    /// What one output adds to each total, as SQL over `output` (an expression), in the table's column order.
    private static func contribution(_ output: String) -> [String] {
        let value = { (field: String) in
            "CASE WHEN \(output) IS NOT NULL AND json_valid(\(output)) THEN COALESCE(json_extract(\(output), '$.usage.\(field)'), 0) ELSE 0 END"
        }
        return fields.map(value) + ["CAST(ROUND((\(value("cost_usd"))) * 1000000) AS INTEGER)"]
    }

    /// `INSERT … ON CONFLICT` that adds `output`'s contribution, less `minus`'s, to `batch`'s row
    /// (one statement, without its `;`).
    private static func add(_ output: String, minus: String? = nil, batch: String) -> String {
        let columns = fields + ["cost_micro_usd"]
        let plus = contribution(output)
        let values = minus.map { old in zip(plus, contribution(old)).map { "(\($0)) - (\($1))" } } ?? plus
        return """
            INSERT INTO batch_usage (batch_id, \(columns.joined(separator: ", ")))
                VALUES (\(batch), \(values.joined(separator: ", ")))
                ON CONFLICT (batch_id) DO UPDATE SET \(columns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """
    }

    /// Creates the totals and their triggers, and sums the outputs already there (one pass, once).
    static let usageTotalsMigration = SQLiteMigration("agentq-batch-usage-totals", sql: """
        CREATE TABLE batch_usage (
            batch_id TEXT PRIMARY KEY NOT NULL,
            \(fields.map { "\($0) INTEGER NOT NULL DEFAULT 0" }.joined(separator: ",\n    ")),
            cost_micro_usd INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        INSERT INTO batch_usage (batch_id, \(fields.joined(separator: ", ")), cost_micro_usd)
            SELECT batch_id, \(contribution("output").map { "SUM(\($0))" }.joined(separator: ", "))
            FROM jobs WHERE batch_id IS NOT NULL AND output IS NOT NULL AND json_valid(output)
            GROUP BY batch_id;
        CREATE TRIGGER batch_usage_insert AFTER INSERT ON jobs
            WHEN new.batch_id IS NOT NULL AND instr(new.output, '"usage"')
        BEGIN
            \(add("new.output", batch: "new.batch_id"));
        END;
        CREATE TRIGGER batch_usage_update AFTER UPDATE OF output ON jobs
            WHEN new.batch_id IS NOT NULL AND old.output IS NOT new.output
                AND (instr(old.output, '"usage"') OR instr(new.output, '"usage"'))
        BEGIN
            \(add("new.output", minus: "old.output", batch: "new.batch_id"));
        END;
        CREATE TRIGGER batch_usage_delete AFTER DELETE ON jobs
            WHEN old.batch_id IS NOT NULL AND instr(old.output, '"usage"')
        BEGIN
            \(add("NULL", minus: "old.output", batch: "old.batch_id"));
        END;
        CREATE TRIGGER batch_usage_batch_delete AFTER DELETE ON batches
        BEGIN
            DELETE FROM batch_usage WHERE batch_id = old.id;
        END;
        """)

    /// Replaces the `AFTER UPDATE OF output` trigger by the same change run by the job store
    /// itself (``JobQueue/OutputHook``), only for outputs with `"usage"` in them. The trigger,
    /// though it turned nearly every row down in its `WHEN`, was set up by SQLite for each job a
    /// worker finished: about a tenth of the engine's work per job. Inserts and deletes keep
    /// their triggers (a submission's jobs have no output; a prune is rare).
    static let usageByStoreMigration = SQLiteMigration(
        "agentq-batch-usage-by-store", sql: "DROP TRIGGER batch_usage_update;",
        outputHook: OutputHook(
            marker: #""usage""#,
            sql: add("?3", minus: "?2", batch: "?1")))

    /// The usage recorded in the batch's job outputs, summed.
    /// - throws: ``JobQueue/StoreError``.
    public func usage(batchID: String) throws -> TokenUsage {
        try database.read(retryTransient: true) { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT \(Self.fields.joined(separator: ", ")), cost_micro_usd FROM batch_usage WHERE batch_id = ?
                """, arguments: [batchID])
            else { return TokenUsage() }
            let micro: Int64 = row[5]
            return TokenUsage(
                inputTokens: row[0], outputTokens: row[1], cachedInputTokens: row[2], cacheWriteTokens: row[3],
                reasoningTokens: row[4], costUSD: Double(micro) / 1_000_000)
        }
    }
}
