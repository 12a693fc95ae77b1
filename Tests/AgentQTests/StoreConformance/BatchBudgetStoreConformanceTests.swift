import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// ``BatchBudgetStore`` behaves the same on every driver: caps set and replaced, spend added
/// in place from any host, usage summed over the batch's job outputs, budgets of removed
/// batches deleted.
@Suite("Batch budget store conformance")
struct BatchBudgetStoreConformanceTests {
    @Test("a budget is set, replaced without losing its spend, and spent from two hosts", arguments: StoreDriver.allCases)
    func budgetsAndSpend(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        let other = try stores.secondHost()
        defer { other.remove(); stores.remove() }
        #expect(try stores.budgets.budget(batchID: "bat_1") == nil)
        #expect(try stores.budgets.recordSpend(batchID: "bat_1", usage: TokenUsage(inputTokens: 5)) == nil)
        try stores.budgets.setBudget(BatchBudget(batchID: "bat_1", maxCostUSD: 1.0, maxTokensTotal: nil))
        let afterFirst = try stores.budgets.recordSpend(batchID: "bat_1", usage: TokenUsage(inputTokens: 10, outputTokens: 5, costUSD: 0.25))
        #expect(afterFirst == BatchBudget(batchID: "bat_1", maxCostUSD: 1.0, maxTokensTotal: nil, spentCostUSD: 0.25, spentTokens: 15))
        try other.budgets.setBudget(BatchBudget(batchID: "bat_1", maxCostUSD: 0.5, maxTokensTotal: 100))
        let afterSecond = try other.budgets.recordSpend(batchID: "bat_1", usage: TokenUsage(inputTokens: 1, outputTokens: 1, costUSD: 0.25))
        #expect(afterSecond == BatchBudget(batchID: "bat_1", maxCostUSD: 0.5, maxTokensTotal: 100, spentCostUSD: 0.5, spentTokens: 17))
        #expect(try stores.budgets.budget(batchID: "bat_1")?.exhaustedReason != nil)
    }

    @Test("spends from many threads on two hosts all add up", arguments: StoreDriver.allCases)
    func concurrentSpends(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        let other = try stores.secondHost()
        defer { other.remove(); stores.remove() }
        try stores.budgets.setBudget(BatchBudget(batchID: "bat_race", maxCostUSD: nil, maxTokensTotal: 1_000_000))
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let budgets = worker % 2 == 0 ? stores.budgets : other.budgets
            for _ in 0..<10 {
                do { try budgets.recordSpend(batchID: "bat_race", usage: TokenUsage(inputTokens: 2, outputTokens: 1, costUSD: 0.5)) }
                catch { failures.increment() }
            }
        }
        #expect(failures.value == 0)
        let budget = try #require(try stores.budgets.budget(batchID: "bat_race"))
        #expect(budget.spentTokens == 8 * 10 * 3 && budget.spentCostUSD == 40)
    }

    @Test("usage sums the usage of the batch's job outputs only; outputs without usage or not JSON add nothing",
          arguments: StoreDriver.allCases)
    func usage(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        try stores.addBatch("bat_u")
        try stores.addBatch("bat_v")
        #expect(try stores.budgets.usage(batchID: "bat_u") == TokenUsage())
        for index in 0..<3 {
            let output = TurnResult(
                response: "answer \(index)", toolCalls: [],
                usage: TokenUsage(inputTokens: 10 + index, outputTokens: 3, cachedInputTokens: 1, cacheWriteTokens: 2,
                                  reasoningTokens: index, costUSD: 0.1),
                steps: 1).jsonText
            try stores.addFinishedJob(batchID: "bat_u", output: output)
        }
        try stores.addFinishedJob(batchID: "bat_u", output: nil)
        try stores.addFinishedJob(batchID: "bat_u", output: #"{"text":"no usage here"}"#)
        try stores.addFinishedJob(batchID: "bat_u", output: #"not json "usage""#)
        try stores.addFinishedJob(batchID: "bat_v", output: TurnResult(
            response: "x", toolCalls: [], usage: TokenUsage(inputTokens: 1000), steps: 1).jsonText)
        let usage = try stores.budgets.usage(batchID: "bat_u")
        #expect(usage == TokenUsage(
            inputTokens: 33, outputTokens: 9, cachedInputTokens: 3, cacheWriteTokens: 6, reasoningTokens: 3, costUSD: 0.3))
    }

    @Test("the budgets of removed batches are deleted, the others kept", arguments: StoreDriver.allCases)
    func budgetsOfRemovedBatches(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        for id in ["bat_keep", "bat_drop"] {
            try stores.addBatch(id)
            try stores.budgets.setBudget(BatchBudget(batchID: id, maxCostUSD: 1, maxTokensTotal: nil))
        }
        try stores.removeBatch("bat_drop")
        #expect(try stores.budgets.removeBudgetsOfRemovedBatches() == 1)
        #expect(try stores.budgets.budget(batchID: "bat_drop") == nil)
        #expect(try stores.budgets.budget(batchID: "bat_keep") != nil)
        #expect(try stores.budgets.removeBudgetsOfRemovedBatches() == 0)
    }
}
