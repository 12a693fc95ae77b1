import CoreMetrics

/// The metrics of agent turns, through the swift-metrics API: how long turns take, and the
/// tokens and dollars their model calls spend.
///
/// Made once on first use and shared, as ``JobQueue/QueueMetrics`` are; `agentq serve`
/// bootstraps the backend before its worker runs a turn.
///
/// ```swift
/// TurnMetrics.turnDuration(.succeeded).recordNanoseconds(elapsed)
/// TurnMetrics.record(response.usage)
/// ```
public enum TurnMetrics {
    /// How a turn ended, the `outcome` label of ``turnDuration(_:)``.
    public enum Outcome: String, CaseIterable, Sendable {
        case succeeded, failed, cancelled
    }

    private static let durations: [Timer] = Outcome.allCases.map {
        Timer(label: "agentq_turn_duration_seconds", dimensions: [("outcome", $0.rawValue)])
    }

    /// `agentq_tokens_total{kind}`, kind one of input, output, cached_input, cache_write, reasoning.
    private static let tokens: [Counter] = ["input", "output", "cached_input", "cache_write", "reasoning"].map {
        Counter(label: "agentq_tokens_total", dimensions: [("kind", $0)])
    }

    /// `agentq_cost_usd_total`: dollars spent, from the agents' prices per million tokens.
    private static let cost = FloatingPointCounter(label: "agentq_cost_usd_total")

    /// `agentq_turn_duration_seconds{outcome}`: one run of a turn, from claim to answer or error.
    public static func turnDuration(_ outcome: Outcome) -> Timer {
        switch outcome {
        case .succeeded: return durations[0]
        case .failed: return durations[1]
        case .cancelled: return durations[2]
        }
    }

    /// Counts the tokens and cost of one model response.
    public static func record(_ usage: TokenUsage) {
        let counts = [usage.inputTokens, usage.outputTokens, usage.cachedInputTokens, usage.cacheWriteTokens, usage.reasoningTokens]
        for (counter, count) in zip(tokens, counts) where count > 0 { counter.increment(by: count) }
        if usage.costUSD > 0 { cost.increment(by: usage.costUSD) }
    }

    /// Makes every metric now, so a scrape shows them at zero before the first turn.
    public static func prepare() {
        _ = (durations, tokens, cost)
    }
}
