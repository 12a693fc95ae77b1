/// Where agent definitions live. ``SQLiteAgentStore`` keeps them in the queue's database.
public protocol AgentStore: Sendable {
    /// Adds the agent, or replaces the one with the same name.
    /// - returns: `true` when it replaced an existing agent.
    @discardableResult
    func save(_ agent: AgentDefinition) throws -> Bool
    func agent(named name: String) throws -> AgentDefinition?
    func allAgents() throws -> [AgentDefinition]
    /// - returns: `false` when there was no such agent.
    @discardableResult
    func remove(named name: String) throws -> Bool
}
