import Foundation

/// The HTTP side of an agent definition: where the provider is, which environment variable
/// holds its key, how to call it, its limits and its prices.
///
/// The key itself is never part of a definition: only the variable's name (`api_key_env`),
/// so no key reaches the database, a result file or a log line.
///
/// ```json
/// {"provider": "openai", "model": "gpt-4o-mini", "base_url": "https://api.openai.com/v1",
///  "api_key_env": "OPENAI_API_KEY", "max_tokens": 1024, "rpm": 500,
///  "input_cost_per_million": 0.15, "output_cost_per_million": 0.6}
/// ```
public struct ProviderSettings: Sendable, Hashable {
    public var baseURL: String?
    public var apiKeyEnv: String?
    public var maxTokens: Int?
    public var temperature: Double?
    /// Stream answers with server-sent events (the default).
    public var stream: Bool
    /// Seconds a non-streamed request may take in all.
    public var timeoutSeconds: Double?
    /// Seconds a stream may stay silent before it is abandoned and retried.
    public var streamIdleTimeoutSeconds: Double?
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var inputCostPerMillion: Double?
    public var outputCostPerMillion: Double?
    /// Default spend caps of this agent's jobs (a bulk line can override them).
    public var maxCostUSD: Double?
    public var maxTokensTotal: Int?

    public init(
        baseURL: String? = nil, apiKeyEnv: String? = nil, maxTokens: Int? = nil, temperature: Double? = nil,
        stream: Bool = true, timeoutSeconds: Double? = nil, streamIdleTimeoutSeconds: Double? = nil,
        requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, inputCostPerMillion: Double? = nil,
        outputCostPerMillion: Double? = nil, maxCostUSD: Double? = nil, maxTokensTotal: Int? = nil
    ) {
        self.baseURL = baseURL
        self.apiKeyEnv = apiKeyEnv
        self.maxTokens = maxTokens
        self.temperature = temperature
        self.stream = stream
        self.timeoutSeconds = timeoutSeconds
        self.streamIdleTimeoutSeconds = streamIdleTimeoutSeconds
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.inputCostPerMillion = inputCostPerMillion
        self.outputCostPerMillion = outputCostPerMillion
        self.maxCostUSD = maxCostUSD
        self.maxTokensTotal = maxTokensTotal
    }

    /// The variable holding the key: `api_key_env`, else the provider's usual one.
    public func keyVariable(provider: String) -> String {
        apiKeyEnv ?? (provider == "anthropic" ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY")
    }

    /// The base URL: `base_url`, else the provider's public API.
    public func resolvedBaseURL(provider: String) -> String {
        let url = baseURL ?? (provider == "anthropic" ? "https://api.anthropic.com" : "https://api.openai.com/v1")
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// What the calls cost, in US dollars.
    public func cost(of usage: TokenUsage) -> Double {
        Double(usage.inputTokens) / 1e6 * (inputCostPerMillion ?? 0)
            + Double(usage.outputTokens) / 1e6 * (outputCostPerMillion ?? 0)
    }

    /// - throws: ``AgentQError`` `.invalidAgent` naming `source` and the field.
    func validate(provider: String, source: String) throws {
        func fail(_ message: String) -> AgentQError { AgentQError(.invalidAgent, "\(source): \(message)") }
        if let baseURL {
            guard let url = URL(string: baseURL), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil
            else { throw fail("base_url '\(baseURL)' must be an http:// or https:// URL") }
        }
        if let apiKeyEnv {
            let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
            guard !apiKeyEnv.isEmpty, apiKeyEnv.unicodeScalars.allSatisfy(allowed.contains) else {
                throw fail("api_key_env must name an environment variable (letters, digits, _), not hold a key")
            }
            // A key pasted where its variable's name belongs would end up in the database.
            if apiKeyEnv.hasPrefix("sk-") || apiKeyEnv.count > 64 {
                throw fail("api_key_env must be the NAME of the variable that holds the key (e.g. OPENAI_API_KEY), not the key")
            }
        }
        if let maxTokens, maxTokens < 1 { throw fail("max_tokens must be at least 1") }
        if let temperature, !(0...2).contains(temperature) { throw fail("temperature must be between 0 and 2") }
        for (name, value) in [("timeout", timeoutSeconds), ("stream_idle_timeout", streamIdleTimeoutSeconds)] {
            if let value, value <= 0 { throw fail("\(name) must be more than 0 seconds") }
        }
        for (name, value) in [("rpm", requestsPerMinute), ("tpm", tokensPerMinute), ("max_tokens_total", maxTokensTotal)] {
            if let value, value < 1 { throw fail("\(name) must be at least 1") }
        }
        for (name, value) in [
            ("input_cost_per_million", inputCostPerMillion), ("output_cost_per_million", outputCostPerMillion),
            ("max_cost_usd", maxCostUSD),
        ] {
            if let value, value < 0 || !value.isFinite { throw fail("\(name) cannot be negative") }
        }
    }
}
