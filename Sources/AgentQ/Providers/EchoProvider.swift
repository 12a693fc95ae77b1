import Foundation
import JobQueue

/// The offline provider: answers `echo: <last user message>`, counting words as tokens.
///
/// Options, from the agent definition:
/// - `latency_ms`: a delay per call that a cancel cuts short;
/// - `fail_first`: the first N attempts of every job fail with a retryable error;
/// - `fail_permanently`: every call fails with a non-retryable error;
/// - `tool_calls`: `[{"name": "write_file", "arguments": {...}}, …]`, called one per step at the
///   start of every turn before the answer — a scripted agent for offline tests.
///
/// A user message can script tools too, one line each: `/tool read_file {"path": "notes.txt"}`.
/// The final answer then lists each tool's result after the echo.
///
/// ```swift
/// let response = try EchoProvider().respond(to: request, token: token)   // "echo: hi"
/// ```
public struct EchoProvider: AsyncModelProvider {
    public init() {}

    static let optionNames = ["latency_ms", "fail_first", "fail_permanently", "tool_calls"]

    public func respond(to request: ModelRequest, token: CancellationToken) throws -> ModelResponse {
        if let latency = Self.latency(request) { try token.sleep(milliseconds: latency) }
        return try answer(request, token: token)
    }

    /// The latency waits on a timer, holding no thread: a thousand calls in flight cost a thousand timers.
    public func respond(to request: ModelRequest, token: CancellationToken, threads: WorkerThreads) async throws -> ModelResponse {
        if let latency = Self.latency(request) { try await token.sleep(milliseconds: latency) }
        return try answer(request, token: token)
    }

    private static func latency(_ request: ModelRequest) -> Int64? {
        guard let latency = request.agent.options["latency_ms"]?.intValue, latency > 0 else { return nil }
        return Int64(latency)
    }

    private func answer(_ request: ModelRequest, token: CancellationToken) throws -> ModelResponse {
        let options = request.agent.options
        try token.checkCancelled()
        if options["fail_permanently"]?.boolValue == true {
            throw ProviderError(
                type: "invalid_request", message: "echo: failing permanently (option fail_permanently)",
                retryable: false)
        }
        if let failFirst = options["fail_first"]?.intValue, request.attempt <= failFirst {
            throw ProviderError(
                type: "provider_unavailable",
                message: "echo: attempt \(request.attempt) of the first \(failFirst) fails (option fail_first)",
                retryable: true)
        }
        let inputWords = request.messages.reduce(0) { $0 + Self.wordCount($1.content) }
        let lastUserIndex = request.messages.lastIndex(where: { $0.role == .user })
        let input = lastUserIndex.map { request.messages[$0].content } ?? ""
        let thisTurn = lastUserIndex.map { Array(request.messages[($0 + 1)...]) } ?? []

        let planned = Self.plannedCalls(options: options, input: input)
        let stepsDone = thisTurn.filter { $0.role == .assistant && !$0.toolCalls.isEmpty }.count
        if stepsDone < planned.count {
            let (name, arguments) = planned[stepsDone]
            let call = ToolCall(id: "call_\(stepsDone + 1)", name: name, arguments: arguments)
            return ModelResponse(
                text: "", toolCalls: [call], usage: TokenUsage(inputTokens: inputWords, outputTokens: 1),
                finishReason: "tool_calls")
        }
        var answer = "echo: " + input
        for result in thisTurn where result.role == .tool {
            answer += "\n[\(result.toolName ?? "tool")\(result.isError ? " error" : "")] \(result.content)"
        }
        return ModelResponse(
            text: answer, usage: TokenUsage(inputTokens: inputWords, outputTokens: Self.wordCount(answer)))
    }

    /// The scripted calls: the agent's `tool_calls` option, then `/tool NAME {json}` lines of the input.
    static func plannedCalls(options: [String: JSONValue], input: String) -> [(String, String)] {
        var calls: [(String, String)] = []
        if case .array(let items)? = options["tool_calls"] {
            for item in items {
                guard case .object(let fields) = item, let name = fields["name"]?.stringValue else { continue }
                calls.append((name, Self.jsonText(fields["arguments"] ?? .object([:]))))
            }
        }
        // Most inputs have no `/tool ` line; splitting them into lines walks every character.
        guard input.utf8.starts(with: "/tool ".utf8) || ByteSearch.contains("\n/tool ", in: input) else { return calls }
        for line in input.split(separator: "\n") where line.hasPrefix("/tool ") {
            let rest = line.dropFirst("/tool ".count).drop(while: { $0 == " " })
            let name = rest.prefix(while: { $0 != " " })
            guard !name.isEmpty else { continue }
            let arguments = rest.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
            calls.append((String(name), arguments.isEmpty ? "{}" : arguments))
        }
        return calls
    }

    static func jsonText(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func wordCount(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for byte in text.utf8 {
            let isSpace = byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
            if !isSpace && !inWord { count += 1 }
            inWord = !isSpace
        }
        return count
    }
}
