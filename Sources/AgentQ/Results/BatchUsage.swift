import GRDB
import JobQueue

/// Tokens and cost summed over a batch's jobs, read from their outputs, for `batch status`.
///
/// ```swift
/// let usage = try BatchUsage(database: queue.database).usage(batchID: "bat_…")
/// ```
public struct BatchUsage: Sendable {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public func usage(batchID: String) throws -> TokenUsage {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT COALESCE(SUM(json_extract(output, '$.usage.input_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.output_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cached_input_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cache_write_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.reasoning_tokens')), 0),
                       COALESCE(SUM(json_extract(output, '$.usage.cost_usd')), 0.0)
                FROM jobs WHERE batch_id = ? AND output IS NOT NULL AND json_valid(output)
                """, arguments: [batchID])
            else { return TokenUsage() }
            return TokenUsage(
                inputTokens: row[0], outputTokens: row[1], cachedInputTokens: row[2], cacheWriteTokens: row[3],
                reasoningTokens: row[4], costUSD: row[5])
        }
    }
}
