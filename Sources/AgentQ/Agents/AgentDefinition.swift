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

    public init(
        name: String, provider: String, model: String, systemPrompt: String? = nil, tools: [String] = [],
        maxSteps: Int = 10, options: [String: JSONValue] = [:]
    ) {
        self.name = name
        self.provider = provider
        self.model = model
        self.systemPrompt = systemPrompt
        self.tools = tools
        self.maxSteps = maxSteps
        self.options = options
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, provider, model, tools, options
        case systemPrompt = "system_prompt"
        case maxSteps = "max_steps"
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
    /// - throws: ``AgentQError`` `.invalidAgent`.
    public func validate(source: String) throws {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        guard !name.isEmpty, name.count <= 64, name.unicodeScalars.allSatisfy(allowed.contains) else {
            throw AgentQError(
                .invalidAgent, "\(source): name '\(name)' must be 1-64 letters, digits, '-', '_' or '.'")
        }
        guard ProviderRegistry.knownProviders.contains(provider) else {
            throw AgentQError(
                .invalidAgent,
                "\(source): unknown provider '\(provider)' (known: \(ProviderRegistry.knownProviders.joined(separator: ", ")))")
        }
        guard maxSteps >= 1 else { throw AgentQError(.invalidAgent, "\(source): max_steps must be at least 1") }
        try ProviderRegistry.validateOptions(of: self, source: source)
    }

    /// Pretty JSON, keys sorted, for `agents show --json` and the database.
    public func jsonText(pretty: Bool = false) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
