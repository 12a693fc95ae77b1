import JobQueue

/// A model behind an API (or the offline `echo`): takes the conversation, returns the next message.
///
/// Providers run on worker threads and must stop promptly when `token` fires, throwing
/// ``JobQueue/JobCancelled``.
public protocol ModelProvider: Sendable {
    /// - throws: ``ProviderError`` (retryable or not) or ``JobQueue/JobCancelled``.
    func respond(to request: ModelRequest, token: CancellationToken) throws -> ModelResponse
}

/// A provider that waits for its model without holding a thread: the HTTP providers on the
/// event loop, `echo`'s latency on a timer. A worker then keeps thousands of calls in flight
/// on a few threads. Blocking work it must do (the home's shared rate-limit state) goes to
/// `threads`. A provider that is only a ``ModelProvider`` runs on one of those threads.
///
/// ```swift
/// let response = try await OpenAIProvider().respond(to: request, token: token, threads: threads)
/// ```
public protocol AsyncModelProvider: ModelProvider {
    /// - throws: ``ProviderError`` (retryable or not) or ``JobQueue/JobCancelled``.
    func respond(to request: ModelRequest, token: CancellationToken, threads: WorkerThreads) async throws -> ModelResponse
}

extension AsyncModelProvider {
    /// The synchronous form: the asynchronous call, waited for on this thread.
    public func respond(to request: ModelRequest, token: CancellationToken) throws -> ModelResponse {
        try WorkerThreads.block { try await respond(to: request, token: token, threads: .shared) }
    }
}

/// A tool call the model asked for.
public struct ToolCall: Sendable, Hashable, Codable {
    /// The provider's ID for the call, echoed back with its result.
    public var id: String
    public var name: String
    /// The arguments as the model wrote them: JSON text that may be invalid.
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

/// One message of a conversation.
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable, Codable { case system, user, assistant, tool }
    public var role: Role
    public var content: String
    /// For assistant messages: the tools it called.
    public var toolCalls: [ToolCall]
    /// For tool messages: which call this answers, and whether it failed.
    public var toolCallID: String?
    public var toolName: String?
    public var isError: Bool

    public init(
        role: Role, content: String, toolCalls: [ToolCall] = [], toolCallID: String? = nil, toolName: String? = nil,
        isError: Bool = false
    ) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.toolName = toolName
        self.isError = isError
    }
}

/// A tool as offered to the model.
public struct ToolSpec: Sendable, Hashable {
    public var name: String
    public var description: String
    /// JSON Schema of the arguments object, as JSON text.
    public var parametersSchema: String

    public init(name: String, description: String, parametersSchema: String) {
        self.name = name
        self.description = description
        self.parametersSchema = parametersSchema
    }
}

/// What a provider is asked.
public struct ModelRequest: Sendable {
    public var agent: AgentDefinition
    public var messages: [ChatMessage]
    public var tools: [ToolSpec]
    /// The job's attempt number, 1-based.
    public var attempt: Int
    /// Receives the answer's text as it streams in. A call that is retried after partial
    /// output starts over: `onRestart` tells the listener to drop what it got.
    public var onTextDelta: (@Sendable (String) -> Void)?
    public var onRestart: (@Sendable () -> Void)?

    public init(
        agent: AgentDefinition, messages: [ChatMessage], tools: [ToolSpec] = [], attempt: Int,
        onTextDelta: (@Sendable (String) -> Void)? = nil, onRestart: (@Sendable () -> Void)? = nil
    ) {
        self.agent = agent
        self.messages = messages
        self.tools = tools
        self.attempt = attempt
        self.onTextDelta = onTextDelta
        self.onRestart = onRestart
    }
}

/// What a provider answered: text, tool calls, or both.
public struct ModelResponse: Sendable, Hashable {
    public var text: String
    public var toolCalls: [ToolCall]
    public var usage: TokenUsage
    public var finishReason: String

    public init(text: String, toolCalls: [ToolCall] = [], usage: TokenUsage, finishReason: String = "stop") {
        self.text = text
        self.toolCalls = toolCalls
        self.usage = usage
        self.finishReason = finishReason
    }
}

/// Tokens read and written, summed over the calls of a turn, and what they cost.
///
/// The counts come from the provider's answer, so each is kept within 0...``maxCount``: a
/// negative one would lower a batch's totals and loosen a token cap, and an absurd one would
/// overflow the sums (ending the process) or a PostgreSQL `bigint` total.
public struct TokenUsage: Sendable, Hashable {
    /// The most a count can hold: a trillion tokens.
    public static let maxCount = 1_000_000_000_000

    public var inputTokens: Int { didSet { inputTokens = Self.bounded(inputTokens) } }
    public var outputTokens: Int { didSet { outputTokens = Self.bounded(outputTokens) } }
    /// Input tokens served from the provider's prompt cache (OpenAI cached, Anthropic cache read).
    public var cachedInputTokens: Int { didSet { cachedInputTokens = Self.bounded(cachedInputTokens) } }
    /// Input tokens written to Anthropic's prompt cache.
    public var cacheWriteTokens: Int { didSet { cacheWriteTokens = Self.bounded(cacheWriteTokens) } }
    /// Output tokens spent on hidden reasoning (OpenAI).
    public var reasoningTokens: Int { didSet { reasoningTokens = Self.bounded(reasoningTokens) } }
    /// US dollars, from the agent's prices per million tokens.
    public var costUSD: Double

    public init(
        inputTokens: Int = 0, outputTokens: Int = 0, cachedInputTokens: Int = 0, cacheWriteTokens: Int = 0,
        reasoningTokens: Int = 0, costUSD: Double = 0
    ) {
        self.inputTokens = Self.bounded(inputTokens)
        self.outputTokens = Self.bounded(outputTokens)
        self.cachedInputTokens = Self.bounded(cachedInputTokens)
        self.cacheWriteTokens = Self.bounded(cacheWriteTokens)
        self.reasoningTokens = Self.bounded(reasoningTokens)
        self.costUSD = costUSD
    }

    public var totalTokens: Int { inputTokens + outputTokens }

    public static func + (lhs: TokenUsage, rhs: TokenUsage) -> TokenUsage {
        TokenUsage(
            inputTokens: lhs.inputTokens + rhs.inputTokens, outputTokens: lhs.outputTokens + rhs.outputTokens,
            cachedInputTokens: lhs.cachedInputTokens + rhs.cachedInputTokens,
            cacheWriteTokens: lhs.cacheWriteTokens + rhs.cacheWriteTokens,
            reasoningTokens: lhs.reasoningTokens + rhs.reasoningTokens, costUSD: lhs.costUSD + rhs.costUSD)
    }

    private static func bounded(_ count: Int) -> Int { min(max(0, count), maxCount) }
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
    /// The provider asked not to be called again before this many milliseconds.
    public var retryAfterMilliseconds: Int64?

    public init(type: String, message: String, retryable: Bool, retryAfterMilliseconds: Int64? = nil) {
        self.type = type
        self.message = message
        self.retryable = retryable
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }

    public var description: String { message }
}
