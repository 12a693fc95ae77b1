import Foundation

/// A named agent: which provider and model answer, with what system prompt, tools and options.
///
/// Loaded from JSON such as
/// `{"name": "slow", "provider": "echo", "model": "echo", "options": {"latency_ms": 60000}}`.
///
/// ```swift
/// let agent = try AgentDefinition.parse(data, source: "jobs/agents/slow.json")
/// ```
public struct AgentDefinition: Sendable, Hashable, Codable {
    public var name: String
    public var provider: String
    public var model: String
    public var systemPrompt: String?
    public var tools: [String]
    public var maxSteps: Int
    public var options: [String: JSONValue]
    /// `"bubblewrap"` (the default) or `"none"`: how the `bash` tool is isolated.
    public var sandbox: String?
    /// Whether `bash` may use the network (off by default).
    public var network: Bool
    /// Idle sessions of this agent close after this long; `nil` uses the global default.
    public var idleTimeoutSeconds: Int?
    /// How an HTTP provider is reached and paid for (ignored by `echo`).
    public var http: ProviderSettings
    /// `"shared_workspace": true`: its sessions' workspaces are on storage every host mounts at
    /// the same path, so any host's workers may run their turns (by default only the host that
    /// created the session does).
    public var sharedWorkspace: Bool

    public init(
        name: String, provider: String, model: String, systemPrompt: String? = nil, tools: [String] = [],
        maxSteps: Int = 10, options: [String: JSONValue] = [:], sandbox: String? = nil, network: Bool = false,
        idleTimeoutSeconds: Int? = nil
    ) {
        self.sandbox = sandbox
        self.network = network
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.http = ProviderSettings()
        self.sharedWorkspace = false
        self.name = name
        self.provider = provider
        self.model = model
        self.systemPrompt = systemPrompt
        self.tools = tools
        self.maxSteps = maxSteps
        self.options = options
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, provider, model, tools, options, sandbox, network
        case systemPrompt = "system_prompt"
        case maxSteps = "max_steps"
        case idleTimeoutSeconds = "idle_timeout_seconds"
        case sharedWorkspace = "shared_workspace"
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case maxTokens = "max_tokens"
        case temperature, stream, timeout, rpm, tpm
        case streamIdleTimeout = "stream_idle_timeout"
        case inputCostPerMillion = "input_cost_per_million"
        case outputCostPerMillion = "output_cost_per_million"
        case maxCostUSD = "max_cost_usd"
        case maxTokensTotal = "max_tokens_total"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        provider = try container.decode(String.self, forKey: .provider)
        model = try container.decodeIfPresent(String.self, forKey: .model) ?? provider
        systemPrompt = try container.decodeIfPresent(String.self, forKey: .systemPrompt)
        tools = try container.decodeIfPresent([String].self, forKey: .tools) ?? []
        maxSteps = try container.decodeIfPresent(Int.self, forKey: .maxSteps) ?? 10
        options = try container.decodeIfPresent([String: JSONValue].self, forKey: .options) ?? [:]
        sandbox = try container.decodeIfPresent(String.self, forKey: .sandbox)
        network = try container.decodeIfPresent(Bool.self, forKey: .network) ?? false
        idleTimeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .idleTimeoutSeconds)
        sharedWorkspace = try container.decodeIfPresent(Bool.self, forKey: .sharedWorkspace) ?? false
        http = ProviderSettings(
            baseURL: try container.decodeIfPresent(String.self, forKey: .baseURL),
            apiKeyEnv: try container.decodeIfPresent(String.self, forKey: .apiKeyEnv),
            maxTokens: try container.decodeIfPresent(Int.self, forKey: .maxTokens),
            temperature: try container.decodeIfPresent(Double.self, forKey: .temperature),
            stream: try container.decodeIfPresent(Bool.self, forKey: .stream) ?? true,
            timeoutSeconds: try container.decodeIfPresent(Double.self, forKey: .timeout),
            streamIdleTimeoutSeconds: try container.decodeIfPresent(Double.self, forKey: .streamIdleTimeout),
            requestsPerMinute: try container.decodeIfPresent(Int.self, forKey: .rpm),
            tokensPerMinute: try container.decodeIfPresent(Int.self, forKey: .tpm),
            inputCostPerMillion: try container.decodeIfPresent(Double.self, forKey: .inputCostPerMillion),
            outputCostPerMillion: try container.decodeIfPresent(Double.self, forKey: .outputCostPerMillion),
            maxCostUSD: try container.decodeIfPresent(Double.self, forKey: .maxCostUSD),
            maxTokensTotal: try container.decodeIfPresent(Int.self, forKey: .maxTokensTotal))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(provider, forKey: .provider)
        try container.encode(model, forKey: .model)
        try container.encodeIfPresent(systemPrompt, forKey: .systemPrompt)
        try container.encode(tools, forKey: .tools)
        try container.encode(maxSteps, forKey: .maxSteps)
        try container.encode(options, forKey: .options)
        try container.encodeIfPresent(sandbox, forKey: .sandbox)
        if network { try container.encode(network, forKey: .network) }
        try container.encodeIfPresent(idleTimeoutSeconds, forKey: .idleTimeoutSeconds)
        if sharedWorkspace { try container.encode(true, forKey: .sharedWorkspace) }
        try container.encodeIfPresent(http.baseURL, forKey: .baseURL)
        try container.encodeIfPresent(http.apiKeyEnv, forKey: .apiKeyEnv)
        try container.encodeIfPresent(http.maxTokens, forKey: .maxTokens)
        try container.encodeIfPresent(http.temperature, forKey: .temperature)
        if !http.stream { try container.encode(false, forKey: .stream) }
        try container.encodeIfPresent(http.timeoutSeconds, forKey: .timeout)
        try container.encodeIfPresent(http.streamIdleTimeoutSeconds, forKey: .streamIdleTimeout)
        try container.encodeIfPresent(http.requestsPerMinute, forKey: .rpm)
        try container.encodeIfPresent(http.tokensPerMinute, forKey: .tpm)
        try container.encodeIfPresent(http.inputCostPerMillion, forKey: .inputCostPerMillion)
        try container.encodeIfPresent(http.outputCostPerMillion, forKey: .outputCostPerMillion)
        try container.encodeIfPresent(http.maxCostUSD, forKey: .maxCostUSD)
        try container.encodeIfPresent(http.maxTokensTotal, forKey: .maxTokensTotal)
    }

    /// How this agent's `bash` tool is isolated.
    public var sandboxPolicy: SandboxPolicy {
        sandbox == "none" ? .none : .bubblewrap(allowNetwork: network)
    }

    /// The built-in agent every new home has.
    public static let echo = AgentDefinition(name: "echo", provider: "echo", model: "echo")

    /// Decodes and validates a definition file.
    /// - throws: ``AgentQError`` `.invalidAgent` naming `source` and the field at fault.
    public static func parse(_ data: Data, source: String) throws -> AgentDefinition {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw AgentQError(.invalidAgent, "\(source): not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else {
            throw AgentQError(.invalidAgent, "\(source): expected a JSON object")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = dictionary.keys.sorted().first(where: { !known.contains($0) }) {
            throw AgentQError(
                .invalidAgent,
                "\(source): unknown field '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
        }
        let definition: AgentDefinition
        do {
            definition = try JSONDecoder().decode(AgentDefinition.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw AgentQError(.invalidAgent, "\(source): missing field '\(key.stringValue)'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw AgentQError(.invalidAgent, "\(source): field '\(path)' has the wrong type")
        } catch {
            throw AgentQError(.invalidAgent, "\(source): \(error)")
        }
        try definition.validate(source: source)
        return definition
    }

    /// Checks the name, provider and limits.
    /// - throws: ``AgentQError`` `.invalidName` for a name that breaks ``Name``'s rule, else `.invalidAgent`.
    public func validate(source: String) throws {
        if let problem = Name.problem(with: name, as: .agent) {
            throw AgentQError(.invalidName, "\(source): \(problem)")
        }
        guard ProviderRegistry.knownProviders.contains(provider) else {
            throw AgentQError(
                .invalidAgent,
                "\(source): unknown provider '\(provider)' (known: \(ProviderRegistry.knownProviders.joined(separator: ", ")))")
        }
        guard maxSteps >= 1 else { throw AgentQError(.invalidAgent, "\(source): max_steps must be at least 1") }
        if let sandbox, sandbox != "none" && sandbox != "bubblewrap" {
            throw AgentQError(.invalidAgent, "\(source): sandbox must be \"bubblewrap\" or \"none\", not \"\(sandbox)\"")
        }
        if let idleTimeoutSeconds, idleTimeoutSeconds < 1 {
            throw AgentQError(.invalidAgent, "\(source): idle_timeout_seconds must be at least 1")
        }
        if let unknown = tools.first(where: { !ToolRegistry.builtInNames.contains($0) }) {
            throw AgentQError(
                .invalidAgent,
                "\(source): unknown tool '\(unknown)' (known: \(ToolRegistry.builtInNames.joined(separator: ", ")))")
        }
        try ProviderRegistry.validateOptions(of: self, source: source)
        try http.validate(provider: provider, source: source)
    }

    /// Pretty JSON, keys sorted, for `agents show --json` and the database.
    public func jsonText(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
