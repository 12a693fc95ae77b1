import JobQueue

/// A batch's token and cost totals in PostgreSQL: one aggregate over the batch's jobs (the
/// `jobs (batch_id, …)` index finds them), summing the `usage` object of each output as
/// ``SQLiteBatchBudgetStore``'s trigger-kept totals do: cost in whole micro-dollars per job,
/// so the sum is exact whatever the order; an output that is not JSON, or has no `"usage"`,
/// adds nothing.
///
/// ```swift
/// let usage = try budgets.usage(batchID: "bat_…")
/// ```
extension PostgresBatchBudgetStore {
    /// `agentq_try_jsonb(text)`: the text as jsonb, NULL when it is not JSON (PostgreSQL 15
    /// has no `pg_input_is_valid`), so one odd output never fails a batch's totals.
    static let usageFunctionMigration = PGMigration("budgets-2-try-jsonb", """
        CREATE OR REPLACE FUNCTION agentq_try_jsonb(value text) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
            RETURN value::jsonb;
        EXCEPTION WHEN others THEN
            RETURN NULL;
        END $$;
        """)

    private static let fields = ["input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens"]

    /// The field of the usage object `u` as a number, NULL when it is missing or not a number.
    private static func number(_ field: String) -> String {
        "CASE WHEN jsonb_typeof(u -> '\(field)') = 'number' THEN (u ->> '\(field)')::numeric END"
    }

    private static let sums = (fields.map { "coalesce(sum(\(number($0))), 0)::bigint" }
        + ["coalesce(sum(round(\(number("cost_usd")) * 1000000)), 0)::bigint"]).joined(separator: ", ")

    /// The usage recorded in the batch's job outputs, summed.
    /// - throws: ``JobQueue/StoreError``.
    public func usage(batchID: String) throws -> TokenUsage {
        try database.read { connection in
            // `output::text`: whichever type the jobs table gives it, text or jsonb.
            guard let row = try connection.query("""
                SELECT \(unescaped: Self.sums) FROM (
                    SELECT agentq_try_jsonb(output::text) -> 'usage' AS u FROM jobs
                    WHERE batch_id = \(batchID) AND output IS NOT NULL AND strpos(output::text, '"usage"') > 0
                ) outputs
                """).first
            else { return TokenUsage() }
            let (input, output, cached, cacheWrite, reasoning, micro) = try row.decode((Int, Int, Int, Int, Int, Int64).self)
            return TokenUsage(
                inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteTokens: cacheWrite,
                reasoningTokens: reasoning, costUSD: Double(micro) / 1_000_000)
        }
    }
}
