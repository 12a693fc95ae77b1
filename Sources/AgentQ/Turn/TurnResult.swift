/// What one turn produced: the final answer, the tool calls made on the way, tokens used and
/// model calls taken. Stored as the job's output and spliced into its result file.
public struct TurnResult: Sendable, Hashable {
    public var response: String?
    /// Each tool call as JSON text (filled in by the agent loop).
    public var toolCalls: [String]
    public var usage: TokenUsage
    public var steps: Int

    public init(response: String?, toolCalls: [String] = [], usage: TokenUsage = TokenUsage(), steps: Int = 0) {
        self.response = response
        self.toolCalls = toolCalls
        self.usage = usage
        self.steps = steps
    }

    /// `{"response": …, "tool_calls": […], "usage": {…}, "steps": N}`: the job output format.
    public var jsonText: String {
        var json = JSONText()
        json.object { object in
            object.field("response", response)
            object.field("tool_calls", raw: "[" + toolCalls.joined(separator: ",") + "]")
            object.field("usage") { usage in
                usage.field("input_tokens", self.usage.inputTokens)
                usage.field("output_tokens", self.usage.outputTokens)
            }
            object.field("steps", steps)
        }
        return json.text
    }
}
