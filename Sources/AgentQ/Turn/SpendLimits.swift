import Foundation
import JobQueue

/// A job's spend caps: its bulk line's `max_cost_usd` / `max_tokens_total` (kept in the job's
/// ``JobQueue/Job/options``, apart from the user's metadata), else its agent's defaults.
///
/// ```swift
/// let options = SpendLimits(maxCostUSD: 0.25, maxTokensTotal: nil).jobOptions   // {"max_cost_usd":0.25}
/// let limits = SpendLimits(job: job, agent: agent)
/// ```
struct SpendLimits {
    var maxCostUSD: Double?
    var maxTokensTotal: Int?

    init(maxCostUSD: Double?, maxTokensTotal: Int?) {
        self.maxCostUSD = maxCostUSD
        self.maxTokensTotal = maxTokensTotal
    }

    init(job: Job, agent: AgentDefinition) {
        maxCostUSD = agent.http.maxCostUSD
        maxTokensTotal = agent.http.maxTokensTotal
        guard let options = job.options,
            let limits = try? JSONSerialization.jsonObject(with: Data(options.utf8)) as? [String: Any]
        else { return }
        if let cost = limits["max_cost_usd"] as? Double { maxCostUSD = cost }
        if let tokens = limits["max_tokens_total"] as? Int { maxTokensTotal = tokens }
    }

    /// The caps as a job's options text; nil when there are none.
    var jobOptions: String? {
        var object: [String: Any] = [:]
        if let maxCostUSD { object["max_cost_usd"] = maxCostUSD }
        if let maxTokensTotal { object["max_tokens_total"] = maxTokensTotal }
        guard !object.isEmpty else { return nil }
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Moves caps that older agentq versions kept in a job's metadata (under `agentq_limits`)
    /// into its options column, leaving the user's metadata as they gave it.
    static let migration = SQLiteMigration("agentq-spend-limits-column", sql: """
        UPDATE jobs SET
            options = json_extract(metadata, '$.agentq_limits'),
            metadata = CASE WHEN json_remove(metadata, '$.agentq_limits') = '{}' THEN NULL
                            ELSE json_remove(metadata, '$.agentq_limits') END
        WHERE metadata LIKE '%"agentq_limits"%' AND json_valid(metadata)
              AND json_type(metadata, '$.agentq_limits') = 'object';
        """)
}
