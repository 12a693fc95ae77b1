import JobQueue

/// A model behind an API (or the offline `echo`): takes the conversation, returns the next message.
///
/// Providers run on worker threads and must stop promptly when `token` fires, throwing
/// ``JobQueue/JobCancelled``.
public protocol ModelProvider: Sendable {
    /// - throws: ``ProviderError`` (retryable or not) or ``JobQueue/JobCancelled``.
    func respond(to request: ModelRequest, token: CancellationToken) throws -> ModelResponse
}

/// One message of a conversation.
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable { case system, user, assistant, tool }
    public var role: Role
    public var content: String

    public init(role: Role, content: String) {
        self.role = role
        self.content = content
    }
}

/// What a provider is asked.
public struct ModelRequest: Sendable {
    public var agent: AgentDefinition
    public var messages: [ChatMessage]
    /// The job's attempt number, 1-based.
    public var attempt: Int

    public init(agent: AgentDefinition, messages: [ChatMessage], attempt: Int) {
        self.agent = agent
        self.messages = messages
        self.attempt = attempt
    }
}

/// What a provider answered.
public struct ModelResponse: Sendable, Hashable {
    public var text: String
    public var usage: TokenUsage
    public var finishReason: String

    public init(text: String, usage: TokenUsage, finishReason: String = "stop") {
        self.text = text
        self.usage = usage
        self.finishReason = finishReason
    }
}

/// Tokens read and written, summed over the calls of a turn.
public struct TokenUsage: Sendable, Hashable {
    public var inputTokens: Int
    public var outputTokens: Int

    public init(inputTokens: Int = 0, outputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(inputTokens: lhs.inputTokens + rhs.inputTokens, outputTokens: lhs.outputTokens + rhs.outputTokens)
    }
}

/// A provider call that failed.
///
/// ```swift
/// throw ProviderError(type: "rate_limited", message: "429 Too Many Requests", retryable: true)
/// ```
public struct ProviderError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String
    public var retryable: Bool

    public init(type: String, message: String, retryable: Bool) {
        self.type = type
        self.message = message
        self.retryable = retryable
    }

    public var description: String { message }
}
