/// A batch's spend cap and what its jobs have spent so far.
public struct BatchBudget: Sendable, Hashable {
    public var batchID: String
    public var maxCostUSD: Double?
    public var maxTokensTotal: Int?
    public var spentCostUSD: Double
    public var spentTokens: Int

    public init(batchID: String, maxCostUSD: Double?, maxTokensTotal: Int?, spentCostUSD: Double = 0, spentTokens: Int = 0) {
        self.batchID = batchID
        self.maxCostUSD = maxCostUSD
        self.maxTokensTotal = maxTokensTotal
        self.spentCostUSD = spentCostUSD
        self.spentTokens = spentTokens
    }

    /// Why no more jobs of the batch may start, or nil while there is budget left.
    public var exhaustedReason: String? {
        if let maxCostUSD, spentCostUSD >= maxCostUSD {
            return "the batch \(batchID) reached its cap max_cost_usd = $\(maxCostUSD) (spent $\(spentCostUSD))"
        }
        if let maxTokensTotal, spentTokens >= maxTokensTotal {
            return "the batch \(batchID) reached its cap max_tokens_total = \(maxTokensTotal) (used \(spentTokens))"
        }
        return nil
    }
}

/// Where batch budgets live. ``SQLiteBatchBudgetStore`` keeps them in the queue's database.
public protocol BatchBudgetStore: Sendable {
    func setBudget(_ budget: BatchBudget) throws
    func budget(batchID: String) throws -> BatchBudget?
    /// Adds what one model call spent and returns the budget as it now stands (nil: no budget).
    @discardableResult
    func recordSpend(batchID: String, usage: TokenUsage) throws -> BatchBudget?
    /// Tokens and cost summed over a batch's jobs (what they actually spent, budget or not),
    /// for `batch status`.
    func usage(batchID: String) throws -> TokenUsage
    /// Deletes the budgets whose batch is gone (a batch's budget goes with the batch, for retention).
    /// - returns: how many budgets it deleted.
    /// - throws: ``JobQueue/StoreError``.
    @discardableResult
    func removeBudgetsOfRemovedBatches() throws -> Int
}
