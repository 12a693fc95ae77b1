/// Maps an agent's `provider` field to the code that answers for it.
public enum ProviderRegistry {
    public static let knownProviders = ["echo", "openai", "anthropic"]

    /// `rateLimits` shares the HTTP providers' rate limits with every process on the home.
    /// - throws: ``AgentQError`` `.invalidAgent` when the provider is unknown.
    public static func provider(for agent: AgentDefinition, rateLimits: (any RateLimitStore)? = nil) throws -> any ModelProvider {
        switch agent.provider {
        case "echo": return EchoProvider()
        case "openai": return OpenAIProvider(rateLimits: rateLimits)
        case "anthropic": return AnthropicProvider(rateLimits: rateLimits)
        default: throw AgentQError(.invalidAgent, "agent '\(agent.name)': unknown provider '\(agent.provider)'")
        }
    }

    /// Checks the provider-specific `options` of a definition.
    /// - throws: ``AgentQError`` `.invalidAgent` naming `source` and the option.
    static func validateOptions(of agent: AgentDefinition, source: String) throws {
        guard agent.provider == "echo" else { return }
        for (name, value) in agent.options {
            switch name {
            case "latency_ms", "fail_first":
                guard let number = value.intValue, number >= 0 else {
                    throw AgentQError(.invalidAgent, "\(source): option '\(name)' must be a whole number ≥ 0")
                }
            case "fail_permanently":
                guard value.boolValue != nil else {
                    throw AgentQError(.invalidAgent, "\(source): option '\(name)' must be true or false")
                }
            case "tool_calls":
                guard case .array(let calls) = value, calls.allSatisfy({ call in
                    guard case .object(let fields) = call, fields["name"]?.stringValue != nil else { return false }
                    if let arguments = fields["arguments"], case .object = arguments { return true }
                    return fields["arguments"] == nil
                }) else {
                    throw AgentQError(
                        .invalidAgent,
                        "\(source): option 'tool_calls' must be an array of {\"name\": \"tool\", \"arguments\": {...}}")
                }
            default:
                throw AgentQError(
                    .invalidAgent,
                    "\(source): unknown option '\(name)' for provider echo (known: \(EchoProvider.optionNames.joined(separator: ", ")))")
            }
        }
    }
}
