import JobQueue

/// The offline provider: answers `echo: <last user message>`, counting words as tokens.
///
/// Options, from the agent definition:
/// - `latency_ms`: a delay per call that a cancel cuts short;
/// - `fail_first`: the first N attempts of every job fail with a retryable error;
/// - `fail_permanently`: every call fails with a non-retryable error.
///
/// ```swift
/// let response = try EchoProvider().respond(to: request, token: token)   // "echo: hi"
/// ```
public struct EchoProvider: ModelProvider {
    public init() {}

    static let optionNames = ["latency_ms", "fail_first", "fail_permanently"]

    public func respond(to request: ModelRequest, token: CancellationToken) throws -> ModelResponse {
        let options = request.agent.options
        if let latency = options["latency_ms"]?.intValue, latency > 0 {
            try token.sleep(milliseconds: Int64(latency))
        }
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
        let input = request.messages.last(where: { $0.role == .user })?.content ?? ""
        let answer = "echo: " + input
        let inputWords = request.messages.reduce(0) { $0 + Self.wordCount($1.content) }
        return ModelResponse(
            text: answer, usage: TokenUsage(inputTokens: inputWords, outputTokens: Self.wordCount(answer)))
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
