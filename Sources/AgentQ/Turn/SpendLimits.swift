import Foundation
import JobQueue

/// A job's spend caps: its bulk line's `max_cost_usd` / `max_tokens_total` (kept in the job's
/// metadata under `"agentq_limits"`), else its agent's defaults.
struct SpendLimits {
    var maxCostUSD: Double?
    var maxTokensTotal: Int?

    /// The metadata key a bulk line's own caps are kept under.
    static let metadataKey = "agentq_limits"

    init(job: Job, agent: AgentDefinition) {
        maxCostUSD = agent.http.maxCostUSD
        maxTokensTotal = agent.http.maxTokensTotal
        guard let metadata = job.metadata, metadata.contains(Self.metadataKey),
            let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any],
            let limits = object[Self.metadataKey] as? [String: Any]
        else { return }
        if let cost = limits["max_cost_usd"] as? Double { maxCostUSD = cost }
        if let tokens = limits["max_tokens_total"] as? Int { maxTokensTotal = tokens }
    }
}
