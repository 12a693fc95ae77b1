import Foundation
import JobQueue

/// Anthropic's Messages API: `POST {base_url}/v1/messages` with `x-api-key` and
/// `anthropic-version: 2023-06-01`.
///
/// The system prompt goes top-level; tool results go first in the next user message, every
/// `tool_use` answered. `pause_turn` continues the call. Streams are read event by event
/// (`ping` and unknown events ignored, `error` handled); one that ends before `message_stop`
/// is retried and never taken as an answer.
///
/// ```swift
/// let response = try await AnthropicProvider().respond(to: request, token: token, threads: threads)
/// ```
public struct AnthropicProvider: AsyncModelProvider {
    var environment: [String: String]
    /// The home's shared rate-limit state (nil: this process paces its calls alone).
    var rateLimits: (any RateLimitStore)?
    static let version = "2023-06-01"
    static let defaultMaxTokens = 4096
    /// `pause_turn` continuations allowed in one call.
    static let maxContinuations = 5

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, rateLimits: (any RateLimitStore)? = nil) {
        self.environment = environment
        self.rateLimits = rateLimits
    }

    public func respond(to request: ModelRequest, token: CancellationToken, threads: WorkerThreads) async throws -> ModelResponse {
        let call = ProviderCall(agent: request.agent, family: "anthropic", environment: environment, rateLimits: rateLimits)
        let url = call.baseURL + "/v1/messages"
        var continuation: [[String: Any]] = []   // assistant content of paused turns
        var total: ModelResponse?
        for _ in 0...Self.maxContinuations {
            let body = try ProviderCall.encode(Self.body(for: request, continuing: continuation))
            let part = try await call.run(request: request, token: token, threads: threads) { key in
                let headers = [("x-api-key", key), ("anthropic-version", Self.version)]
                if request.agent.http.stream {
                    return try await streamed(call: call, url: url, headers: headers, body: body, request: request, token: token)
                }
                return Self.parse(message: try await call.requestObject(url: url, headers: headers, body: body, token: token))
            }
            total = total.map { ModelResponse(
                text: $0.text + part.text, toolCalls: $0.toolCalls + part.toolCalls, usage: $0.usage + part.usage,
                finishReason: part.finishReason) } ?? part
            guard part.finishReason == "pause_turn" else { break }
            // The server paused a long turn: send back what it said so far and let it go on.
            continuation.append(["role": "assistant", "content": Self.contentBlocks(text: part.text, calls: part.toolCalls)])
        }
        return total!
    }

    static func contentBlocks(text: String, calls: [ToolCall]) -> [[String: Any]] {
        var blocks: [[String: Any]] = []
        if !text.isEmpty { blocks.append(["type": "text", "text": text]) }
        for call in calls {
            let input = (try? JSONSerialization.jsonObject(with: Data(call.arguments.utf8))) as? [String: Any] ?? [:]
            blocks.append(["type": "tool_use", "id": call.id, "name": call.name, "input": input])
        }
        return blocks
    }

    /// The request JSON: alternating user/assistant messages, tool results first in the user message.
    static func body(for request: ModelRequest, continuing: [[String: Any]] = []) -> [String: Any] {
        var system: [String] = []
        var messages: [[String: Any]] = []
        func append(role: String, blocks: [[String: Any]]) {
            guard !blocks.isEmpty else { return }
            if var last = messages.last, last["role"] as? String == role, var content = last["content"] as? [[String: Any]] {
                if role == "user" {
                    // Tool results must come before any text in a user message.
                    let results = blocks.filter { $0["type"] as? String == "tool_result" }
                    let others = blocks.filter { $0["type"] as? String != "tool_result" }
                    let firstText = content.firstIndex { $0["type"] as? String != "tool_result" } ?? content.count
                    content.insert(contentsOf: results, at: firstText)
                    content.append(contentsOf: others)
                } else {
                    content.append(contentsOf: blocks)
                }
                last["content"] = content
                messages[messages.count - 1] = last
            } else {
                messages.append(["role": role, "content": blocks])
            }
        }
        for message in request.messages {
            switch message.role {
            case .system:
                system.append(message.content)
            case .user:
                append(role: "user", blocks: [["type": "text", "text": message.content.isEmpty ? " " : message.content]])
            case .assistant:
                append(role: "assistant", blocks: contentBlocks(text: message.content, calls: message.toolCalls))
            case .tool:
                append(role: "user", blocks: [[
                    "type": "tool_result", "tool_use_id": message.toolCallID ?? "", "content": message.content,
                    "is_error": message.isError,
                ]])
            }
        }
        messages += continuing
        var body: [String: Any] = [
            "model": request.agent.model, "max_tokens": request.agent.http.maxTokens ?? defaultMaxTokens, "messages": messages,
        ]
        if !system.isEmpty { body["system"] = system.joined(separator: "\n\n") }
        if !request.tools.isEmpty {
            body["tools"] = request.tools.map { tool -> [String: Any] in
                let schema = (try? JSONSerialization.jsonObject(with: Data(tool.parametersSchema.utf8))) ?? ["type": "object"]
                return ["name": tool.name, "description": tool.description, "input_schema": schema]
            }
        }
        if let temperature = request.agent.http.temperature { body["temperature"] = temperature }
        if request.agent.http.stream { body["stream"] = true }
        return body
    }

    static func usage(from object: [String: Any]?) -> TokenUsage {
        guard let object else { return TokenUsage() }
        return TokenUsage(
            inputTokens: object["input_tokens"] as? Int ?? 0, outputTokens: object["output_tokens"] as? Int ?? 0,
            cachedInputTokens: object["cache_read_input_tokens"] as? Int ?? 0,
            cacheWriteTokens: object["cache_creation_input_tokens"] as? Int ?? 0)
    }

    static func parse(message object: [String: Any]) -> ModelResponse {
        var text = ""
        var calls: [ToolCall] = []
        for block in object["content"] as? [[String: Any]] ?? [] {
            switch block["type"] as? String {
            case "text": text += block["text"] as? String ?? ""
            case "tool_use":
                let input = block["input"] ?? [String: Any]()
                let arguments = (try? JSONSerialization.data(withJSONObject: input, options: [.withoutEscapingSlashes]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
                calls.append(ToolCall(id: block["id"] as? String ?? UUID().uuidString, name: block["name"] as? String ?? "", arguments: arguments))
            default: break
            }
        }
        return ModelResponse(
            text: text, toolCalls: calls, usage: usage(from: object["usage"] as? [String: Any]),
            finishReason: object["stop_reason"] as? String ?? "end_turn")
    }

    private struct Block: Sendable {
        var type: String
        var text = ""
        var id = ""
        var name = ""
        var json = ""
    }

    private struct Accumulated: Sendable {
        var blocks: [Int: Block] = [:]
        var stopReason: String?
        var usage = TokenUsage()
        var stopped = false
    }

    private func streamed(
        call: ProviderCall, url: String, headers: [(String, String)], body: Data, request: ModelRequest,
        token: CancellationToken
    ) async throws -> ModelResponse {
        let state = Locked(Accumulated())
        let onTextDelta = request.onTextDelta
        let response = try await call.exchange(url: url, headers: headers, body: body, token: token) { event in
            let name = event.name ?? ""
            if name == "ping" { return }
            guard let object = try? JSONSerialization.jsonObject(with: Data(event.data.utf8)) as? [String: Any] else {
                if ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
                    "message_stop", "error"].contains(name)
                {
                    throw ProviderCall.malformed("\(name) was not JSON")
                }
                return   // an unknown event: ignored
            }
            var delta = ""
            try state.update { state in
                switch name {
                case "message_start":
                    state.usage = Self.usage(from: (object["message"] as? [String: Any])?["usage"] as? [String: Any])
                case "content_block_start":
                    guard let index = object["index"] as? Int, let block = object["content_block"] as? [String: Any] else {
                        throw ProviderCall.malformed("content_block_start without index")
                    }
                    var entry = Block(type: block["type"] as? String ?? "text")
                    entry.id = block["id"] as? String ?? ""
                    entry.name = block["name"] as? String ?? ""
                    entry.text = block["text"] as? String ?? ""
                    state.blocks[index] = entry
                case "content_block_delta":
                    guard let index = object["index"] as? Int, let piece = object["delta"] as? [String: Any] else {
                        throw ProviderCall.malformed("content_block_delta without index")
                    }
                    var entry = state.blocks[index] ?? Block(type: "text")
                    switch piece["type"] as? String {
                    case "text_delta":
                        let text = piece["text"] as? String ?? ""
                        entry.text += text
                        delta = text
                    case "input_json_delta":
                        entry.json += piece["partial_json"] as? String ?? ""
                    default:
                        break   // thinking and future deltas
                    }
                    state.blocks[index] = entry
                case "message_delta":
                    if let reason = (object["delta"] as? [String: Any])?["stop_reason"] as? String { state.stopReason = reason }
                    if let output = (object["usage"] as? [String: Any])?["output_tokens"] as? Int { state.usage.outputTokens = output }
                case "message_stop":
                    state.stopped = true
                case "error":
                    let error = object["error"] as? [String: Any]
                    let type = error?["type"] as? String ?? "stream_error"
                    throw ProviderCall.AttemptFailure(
                        type: type == "overloaded_error" ? "overloaded" : type,
                        message: "the provider reported an error mid-stream: \(error?["message"] as? String ?? type)",
                        retryable: ["overloaded_error", "api_error", "rate_limit_error", "timeout_error"].contains(type))
                default:
                    break   // content_block_stop and unknown events
                }
            }
            if !delta.isEmpty { onTextDelta?(delta) }
        }
        guard (200..<300).contains(response.status) else {
            throw call.failure(status: response.status, headers: response.headers, body: response.body)
        }
        return try state.update { state in
            guard state.stopped, let stopReason = state.stopReason else { throw ProviderCall.truncated }
            var text = ""
            var calls: [ToolCall] = []
            for index in state.blocks.keys.sorted() {
                let block = state.blocks[index]!
                switch block.type {
                case "text": text += block.text
                case "tool_use":
                    calls.append(ToolCall(id: block.id, name: block.name, arguments: block.json.isEmpty ? "{}" : block.json))
                default: break
                }
            }
            return ModelResponse(text: text, toolCalls: calls, usage: state.usage, finishReason: stopReason)
        }
    }
}
