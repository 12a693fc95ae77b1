import JobQueue

/// Turns the lines of an OpenAI batch input file into agentq jobs, one at a time.
///
/// A line runs on the agent whose name is its `body.model`, else on the batch's fallback
/// (`metadata.agent`, else the server's `--default-agent`); with neither it is a
/// `model_not_found` line for the error file. A line that is not a valid request (bad JSON, no
/// `custom_id`, a repeated `custom_id`, another endpoint) makes the whole file invalid, as with OpenAI.
///
/// ```swift
/// var converter = OpenAIBatchLineConverter(batchID: batch.id, fallbackAgent: "echo", agents: queue.agents)
/// switch try converter.convert(entry) { case .job(let job): …; case .rejected(let line): …; case .invalid(let error): … }
/// ```
public struct OpenAIBatchLineConverter {
    public enum Conversion: Sendable {
        case job(NewJob)
        case rejected(OpenAIRejectedLine)
        case invalid(OpenAIBatchLineError)
    }

    public let batchID: String
    public let fallbackAgent: String?
    public let agents: any AgentStore
    private var customIDs: Set<String> = []
    private var knownAgents: [String: Bool] = [:]

    public init(batchID: String, fallbackAgent: String?, agents: any AgentStore) {
        self.batchID = batchID
        self.fallbackAgent = fallbackAgent
        self.agents = agents
    }

    /// - throws: a ``JobQueue/StoreError`` looking an agent up.
    public mutating func convert(_ entry: BulkFileParser.Entry) throws -> Conversion {
        let line: BulkLine
        switch entry {
        case .invalid(let problem):
            return .invalid(OpenAIBatchLineError(code: "invalid_request", message: problem.reason, line: problem.line))
        case .line(let parsed):
            line = parsed
        }
        guard line.isBatchAPIRequest else {
            return .invalid(OpenAIBatchLineError(
                code: "invalid_request", message: "not a batch request: a line needs custom_id, method, url and body",
                line: line.lineNumber))
        }
        guard let customID = line.customID else {
            return .invalid(OpenAIBatchLineError(code: "missing_custom_id", message: "\"custom_id\" is required", line: line.lineNumber))
        }
        guard customIDs.insert(customID).inserted else {
            return .invalid(OpenAIBatchLineError(
                code: "duplicate_custom_id", message: "custom_id '\(customID)' is used by an earlier line", line: line.lineNumber))
        }
        guard let agent = try agent(for: line.model) else {
            return .rejected(OpenAIRejectedLine(line: line.lineNumber, customID: customID, model: line.model))
        }
        var metadata = JSONText()
        metadata.object {
            $0.field("openai_batch_id", batchID)
            $0.field("model", line.model ?? agent)
        }
        return .job(NewJob(customID: customID, handler: agent, input: line.input, metadata: metadata.text))
    }

    private mutating func agent(for model: String?) throws -> String? {
        if let model, Name.problem(with: model, as: .agent) == nil {
            if knownAgents[model] == nil { knownAgents[model] = try agents.agent(named: model) != nil }
            if knownAgents[model] == true { return model }
        }
        return fallbackAgent
    }
}
