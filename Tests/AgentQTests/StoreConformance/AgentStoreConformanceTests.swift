import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// ``AgentStore`` behaves the same on every driver: the built-in agent, save and replace,
/// lookup, order by name, removal.
@Suite("Agent store conformance")
struct AgentStoreConformanceTests {
    @Test("a new database has echo; save adds, then replaces; names list in byte order; remove deletes once",
          arguments: StoreDriver.allCases)
    func saveReplaceListRemove(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let agents = stores.agents
        #expect(try agents.allAgents() == [.echo])
        var slow = AgentDefinition(name: "slow", provider: "echo", model: "echo", systemPrompt: "be slow", tools: ["bash"])
        #expect(try agents.save(slow) == false)
        slow.maxSteps = 3
        #expect(try agents.save(slow) == true)
        #expect(try agents.agent(named: "slow") == slow)
        #expect(try agents.agent(named: "missing") == nil)
        // Byte order (SQLite's): upper case before lower, '-' before letters.
        try agents.save(AgentDefinition(name: "Zed", provider: "echo", model: "echo"))
        try agents.save(AgentDefinition(name: "a-b", provider: "echo", model: "echo"))
        #expect(try agents.allAgents().map(\.name) == ["Zed", "a-b", "echo", "slow"])
        #expect(try agents.remove(named: "slow") == true)
        #expect(try agents.remove(named: "slow") == false)
        #expect(try agents.agent(named: "slow") == nil)
    }

    @Test("an agent saved by one host is read by another", arguments: StoreDriver.allCases)
    func sharedBetweenHosts(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        let other = try stores.secondHost()
        defer { other.remove(); stores.remove() }
        let agent = AgentDefinition(name: "shared", provider: "echo", model: "echo", options: ["latency_ms": .number(5)])
        try stores.agents.save(agent)
        #expect(try other.agents.agent(named: "shared") == agent)
    }
}
