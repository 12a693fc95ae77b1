import Foundation

/// What one turn produced: the final answer, the tool calls made on the way, tokens used and
/// model calls taken. Stored as the job's output and spliced into its result file.
public struct TurnResult: Sendable, Hashable {
    public var response: String?
    public var toolCalls: [ToolCallRecord]
    public var usage: TokenUsage
    public var steps: Int

    public init(response: String?, toolCalls: [ToolCallRecord] = [], usage: TokenUsage = TokenUsage(), steps: Int = 0) {
        self.response = response
        self.toolCalls = toolCalls
        self.usage = usage
        self.steps = steps
    }

    /// Reads a job's output back (see ``jsonText``).
    public init?(jsonText: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(jsonText.utf8)) as? [String: Any] else { return nil }
        response = object["response"] as? String
        let usageObject = object["usage"] as? [String: Any]
        usage = TokenUsage(
            inputTokens: usageObject?["input_tokens"] as? Int ?? 0, outputTokens: usageObject?["output_tokens"] as? Int ?? 0,
            cachedInputTokens: usageObject?["cached_input_tokens"] as? Int ?? 0,
            cacheWriteTokens: usageObject?["cache_write_tokens"] as? Int ?? 0,
            reasoningTokens: usageObject?["reasoning_tokens"] as? Int ?? 0,
            costUSD: usageObject?["cost_usd"] as? Double ?? 0)
        steps = object["steps"] as? Int ?? 0
        toolCalls = (object["tool_calls"] as? [[String: Any]] ?? []).map {
            ToolCallRecord(
                id: $0["id"] as? String ?? "", name: $0["name"] as? String ?? "", arguments: $0["arguments"] as? String ?? "",
                resultSummary: $0["result"] as? String ?? "", durationMilliseconds: $0["duration_ms"] as? Int ?? 0,
                isError: $0["is_error"] as? Bool ?? false)
        }
    }

    /// `{"response": …, "tool_calls": […], "usage": {…}, "steps": N}`: the job output format.
    ///
    /// Written by hand, as ``ResultDocument`` is: every job makes one, and through ``JSONText``
    /// it cost a result document's worth of work again.
    public var jsonText: String {
        var out = "{\"response\":"
        out.reserveCapacity(240 + (response?.utf8.count ?? 0))
        if let response { JSONText.appendQuoted(response, to: &out) } else { out.append("null") }
        out.append(",\"tool_calls\":[")
        for (index, call) in toolCalls.enumerated() {
            if index > 0 { out.append(",") }
            out.append(call.jsonText)
        }
        out.append("],\"usage\":")
        usage.appendJSON(to: &out)
        out.append(",\"steps\":")
        out.append(String(steps))
        out.append("}")
        return out
    }
}

extension TokenUsage {
    /// `{"input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "cost_usd"}`
    public var jsonText: String {
        var out = ""
        appendJSON(to: &out)
        return out
    }

    /// Appends ``jsonText`` to `out`.
    func appendJSON(to out: inout String) {
        out.append("{\"input_tokens\":")
        out.append(String(inputTokens))
        out.append(",\"output_tokens\":")
        out.append(String(outputTokens))
        out.append(",\"cached_input_tokens\":")
        out.append(String(cachedInputTokens))
        out.append(",\"cache_write_tokens\":")
        out.append(String(cacheWriteTokens))
        out.append(",\"reasoning_tokens\":")
        out.append(String(reasoningTokens))
        // Foundation's formatter is slow on Linux (a tenth of writing a result file); most
        // turns cost nothing (echo, unpriced models).
        out.append(",\"cost_usd\":")
        out.append(costUSD == 0 ? "0.000000" : String(format: "%.6f", costUSD))
        out.append("}")
    }
}
