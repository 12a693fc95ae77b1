import Foundation
import JobQueue

/// Runs one turn of an agent for a job: the ``JobQueue/JobHandler`` of agentq's workers.
///
/// The job's `handler` names the agent and its `input` is the user's message. Provider
/// errors become ``JobQueue/JobFailure``s (retryable or not) carrying the usage so far.
/// It reads agents through an ``AgentStore`` and knows no SQL.
///
/// ```swift
/// let runner = TurnRunner(agents: agentStore)
/// let output = try runner.run(job, token: CancellationToken())
/// ```
public final class TurnRunner: JobHandler, @unchecked Sendable {
    public let agents: any AgentStore
    private let lock = NSLock()
    private var cache: [String: (agent: AgentDefinition, provider: any ModelProvider, loadedAt: Timestamp)] = [:]
    /// Definitions changed with `agents add` reach running workers after this long.
    private let cacheMilliseconds: Int64 = 2000

    public init(agents: any AgentStore) {
        self.agents = agents
    }

    public func run(_ job: Job, token: CancellationToken) throws -> String {
        let (agent, provider) = try resolve(agentNamed: job.handler)
        var messages: [ChatMessage] = []
        if let system = agent.systemPrompt { messages.append(ChatMessage(role: .system, content: system)) }
        messages.append(ChatMessage(role: .user, content: job.input))
        do {
            let response = try provider.respond(
                to: ModelRequest(agent: agent, messages: messages, attempt: job.attempts), token: token)
            return TurnResult(response: response.text, usage: response.usage, steps: 1).jsonText
        } catch let error as ProviderError {
            throw JobFailure(type: error.type, message: error.message, retryable: error.retryable)
        }
    }

    private func resolve(agentNamed name: String) throws -> (AgentDefinition, any ModelProvider) {
        let now = Timestamp.now
        lock.lock()
        if let cached = cache[name], now.milliseconds - cached.loadedAt.milliseconds < cacheMilliseconds {
            lock.unlock()
            return (cached.agent, cached.provider)
        }
        lock.unlock()
        guard let agent = try agents.agent(named: name) else {
            throw JobFailure(
                type: "unknown_agent", message: "agent '\(name)' does not exist (agentq agents list shows them)",
                retryable: false)
        }
        let provider = try ProviderRegistry.provider(for: agent)
        lock.lock()
        cache[name] = (agent, provider, now)
        lock.unlock()
        return (agent, provider)
    }
}
