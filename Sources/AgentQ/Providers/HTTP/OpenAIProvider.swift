import Foundation
import JobQueue

/// The OpenAI Chat Completions API, and everything that speaks it (Ollama, vLLM, llama.cpp
/// server, LM Studio, OpenRouter, Groq, Together): `POST {base_url}/chat/completions`.
///
/// Streams with server-sent events by default (`"stream": false` turns it off), assembling
/// tool-call fragments by `index`; a stream that ends before its `finish_reason`, or sends a
/// malformed chunk, is retried and never taken as an answer.
///
/// ```swift
/// let response = try await OpenAIProvider().respond(to: request, token: token, threads: threads)
/// ```
public struct OpenAIProvider: AsyncModelProvider {
    var environment: [String: String]
    /// The home's shared rate-limit state (nil: this process paces its calls alone).
    var rateLimits: (any RateLimitStore)?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, rateLimits: (any RateLimitStore)? = nil) {
        self.environment = environment
        self.rateLimits = rateLimits
    }

    public func respond(to request: ModelRequest, token: CancellationToken, threads: WorkerThreads) async throws -> ModelResponse {
        let call = ProviderCall(agent: request.agent, family: "openai", environment: environment, rateLimits: rateLimits)
        let body = try ProviderCall.encode(Self.body(for: request))
        let url = call.baseURL + "/chat/completions"
        return try await call.run(request: request, token: token, threads: threads) { key in
            let headers = [("authorization", "Bearer \(key)")]
            if request.agent.http.stream {
                return try await streamed(call: call, url: url, headers: headers, body: body, request: request, token: token)
            }
            return try Self.parse(completion: await call.requestObject(url: url, headers: headers, body: body, token: token))
        }
    }

    /// The request JSON.
    static func body(for request: ModelRequest) -> [String: Any] {
        var messages: [[String: Any]] = []
        for message in request.messages {
            switch message.role {
            case .system, .user:
                messages.append(["role": message.role.rawValue, "content": message.content])
            case .assistant:
                var entry: [String: Any] = ["role": "assistant", "content": message.content.isEmpty ? NSNull() : message.content]
                if !message.toolCalls.isEmpty {
                    entry["tool_calls"] = message.toolCalls.map {
                        ["id": $0.id, "type": "function", "function": ["name": $0.name, "arguments": $0.arguments]]
                    }
                }
                messages.append(entry)
            case .tool:
                messages.append(["role": "tool", "tool_call_id": message.toolCallID ?? "", "content": message.content])
            }
        }
        var body: [String: Any] = ["model": request.agent.model, "messages": messages]
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                let schema = (try? JSONSerialization.jsonObject(with: Data(tool.parametersSchema.utf8))) ?? ["type": "object"]
                return ["type": "function", "function": ["name": tool.name, "description": tool.description, "parameters": schema]]
            }
        }
        if let maxTokens = request.agent.http.maxTokens { body["max_tokens"] = maxTokens }
        if let temperature = request.agent.http.temperature { body["temperature"] = temperature }
        if request.agent.http.stream {
            body["stream"] = true
            body["stream_options"] = ["include_usage": true]
        }
        return body
    }

    static func usage(from object: [String: Any]?) -> TokenUsage {
        guard let object else { return TokenUsage() }
        return TokenUsage(
            inputTokens: object["prompt_tokens"] as? Int ?? 0, outputTokens: object["completion_tokens"] as? Int ?? 0,
            cachedInputTokens: (object["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int ?? 0,
            reasoningTokens: (object["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int ?? 0)
    }

    static func parse(completion object: [String: Any]) throws -> ModelResponse {
        guard let choice = (object["choices"] as? [[String: Any]])?.first,
            let message = choice["message"] as? [String: Any]
        else {
            throw ProviderCall.AttemptFailure(type: "invalid_response", message: "the answer had no choices", retryable: true)
        }
        let calls = (message["tool_calls"] as? [[String: Any]] ?? []).compactMap { call -> ToolCall? in
            guard let function = call["function"] as? [String: Any], let name = function["name"] as? String else { return nil }
            return ToolCall(id: call["id"] as? String ?? UUID().uuidString, name: name, arguments: function["arguments"] as? String ?? "{}")
        }
        return ModelResponse(
            text: message["content"] as? String ?? "", toolCalls: calls, usage: usage(from: object["usage"] as? [String: Any]),
            finishReason: choice["finish_reason"] as? String ?? "stop")
    }

    private struct Accumulated: Sendable {
        var text = ""
        var calls: [Int: (id: String, name: String, arguments: String)] = [:]
        var finishReason: String?
        var usage = TokenUsage()
        var done = false
    }

    private func streamed(
        call: ProviderCall, url: String, headers: [(String, String)], body: Data, request: ModelRequest,
        token: CancellationToken
    ) async throws -> ModelResponse {
        let state = Locked(Accumulated())
        let onTextDelta = request.onTextDelta
        let response = try await call.exchange(url: url, headers: headers, body: body, token: token) { event in
            if event.data == "[DONE]" {
                state.update { $0.done = true }
                return
            }
            guard let chunk = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any] else {
                throw ProviderCall.malformed("not JSON")
            }
            if let error = chunk["error"] as? [String: Any] {
                throw ProviderCall.AttemptFailure(
                    type: error["type"] as? String ?? "stream_error",
                    message: "the provider reported an error mid-stream: \(error["message"] as? String ?? "unknown")",
                    retryable: !ProviderRetryPolicy.quotaErrors.contains(error["code"] as? String ?? ""))
            }
            var delta = ""
            try state.update { state in
                if let usage = chunk["usage"] as? [String: Any] { state.usage = Self.usage(from: usage) }
                guard let choice = (chunk["choices"] as? [[String: Any]])?.first else { return }
                if let reason = choice["finish_reason"] as? String { state.finishReason = reason }
                guard let piece = choice["delta"] as? [String: Any] else { return }
                if let text = piece["content"] as? String {
                    state.text += text
                    delta = text
                }
                for fragment in piece["tool_calls"] as? [[String: Any]] ?? [] {
                    guard let index = fragment["index"] as? Int else { throw ProviderCall.malformed("a tool call without index") }
                    var entry = state.calls[index] ?? ("", "", "")
                    if let id = fragment["id"] as? String { entry.id = id }
                    if let function = fragment["function"] as? [String: Any] {
                        if let name = function["name"] as? String { entry.name += name }
                        if let arguments = function["arguments"] as? String { entry.arguments += arguments }
                    }
                    state.calls[index] = entry
                }
            }
            if !delta.isEmpty { onTextDelta?(delta) }
        }
        guard (200..<300).contains(response.status) else {
            throw call.failure(status: response.status, headers: response.headers, body: response.body)
        }
        return try state.update { state in
            guard let finishReason = state.finishReason else { throw ProviderCall.truncated }
            let calls = state.calls.keys.sorted().compactMap { index -> ToolCall? in
                guard let entry = state.calls[index], !entry.name.isEmpty else { return nil }
                return ToolCall(id: entry.id.isEmpty ? "call_\(index)" : entry.id, name: entry.name,
                                arguments: entry.arguments.isEmpty ? "{}" : entry.arguments)
            }
            return ModelResponse(text: state.text, toolCalls: calls, usage: state.usage, finishReason: finishReason)
        }
    }
}
