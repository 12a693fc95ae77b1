import Foundation
import JobQueue

/// One model call of an HTTP provider with everything around it: the key from the
/// environment, the endpoint's gate (shared by every process on the home through `rateLimits`), retries by ``ProviderRetryPolicy``, and errors
/// that name what to fix without ever containing the key.
///
/// ```swift
/// let call = ProviderCall(agent: agent, family: "openai")
/// let response = try await call.run(request: request, token: token, threads: threads) { apiKey in try await attemptOnce(apiKey) }
/// ```
struct ProviderCall {
    /// Why one attempt failed, classified.
    struct AttemptFailure: Error {
        var type: String
        var message: String
        var retryable: Bool
        var status: Int?
        var retryAfterMilliseconds: Int64?
    }

    let agent: AgentDefinition
    let family: String
    var policy = ProviderRetryPolicy()
    var environment: [String: String] = ProcessInfo.processInfo.environment
    /// The home's shared rate-limit state; nil paces this process alone.
    var rateLimits: (any RateLimitStore)?

    var keyVariable: String { agent.http.keyVariable(provider: agent.provider) }
    var baseURL: String { agent.http.resolvedBaseURL(provider: agent.provider) }
    var gate: RateLimitGate { RateLimitGate.forEndpoint(baseURL) }

    /// - throws: ``ProviderError`` or ``JobQueue/JobCancelled``.
    func run(
        request: ModelRequest, token: CancellationToken, threads: WorkerThreads, attempt: (String) async throws -> ModelResponse
    ) async throws -> ModelResponse {
        var key = environment[keyVariable] ?? ""
        if key.isEmpty && agent.http.apiKeyEnv == nil && Self.isLocal(baseURL) {
            key = "none"   // a local server (Ollama, llama.cpp, LM Studio) usually needs no key
        }
        guard !key.isEmpty else {
            throw ProviderError(
                type: "missing_api_key",
                message: "no API key: set the environment variable \(keyVariable) (agent '\(agent.name)' reads its key from it)",
                retryable: false)
        }
        let endpointGate = gate   // one registry lookup per call, not per use
        let metrics = ProviderMetrics.forEndpoint(baseURL)
        var number = 1
        while true {
            try await endpointGate.waitForTurn(
                requestsPerMinute: agent.http.requestsPerMinute, tokensPerMinute: agent.http.tokensPerMinute, shared: rateLimits,
                token: token, threads: threads)
            metrics.requests.increment()
            do {
                var response = try await attempt(key)
                // Only a tpm budget reads token counts, so only then are they written for other processes.
                endpointGate.record(
                    tokens: response.usage.totalTokens, shared: agent.http.tokensPerMinute == nil ? nil : rateLimits)
                response.usage.costUSD = agent.http.cost(of: response.usage)
                return response
            } catch let failure as AttemptFailure {
                let message = Self.scrub(failure.message, key: key)
                if failure.status == 429 { metrics.rateLimited.increment() }
                if failure.status == 429, let wait = failure.retryAfterMilliseconds {
                    // Everyone calling this endpoint waits, not just this worker: in every process.
                    endpointGate.close(forMilliseconds: wait, shared: rateLimits)
                }
                guard failure.retryable else {
                    throw ProviderError(type: failure.type, message: message, retryable: false)
                }
                let delay = policy.delayMilliseconds(afterAttempt: number, retryAfterMilliseconds: failure.retryAfterMilliseconds)
                if number >= policy.maxAttemptsPerCall || delay > policy.longestInCallWaitMilliseconds {
                    // The job's own retry takes over, no earlier than the provider asked.
                    throw ProviderError(
                        type: failure.type, message: "\(message) (gave up after \(number) attempt(s) of this call)",
                        retryable: true, retryAfterMilliseconds: failure.retryAfterMilliseconds)
                }
                request.onRestart?()
                metrics.retries.increment()
                try await token.sleep(milliseconds: delay)
                number += 1
            }
        }
    }

    /// Classifies an HTTP error answer from its status, headers and provider error body.
    func failure(status: Int, headers: [(name: String, value: String)], body: Data) -> AttemptFailure {
        var errorType: String?
        var errorCode: String?
        var providerMessage: String?
        if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let error = object["error"] as? [String: Any]
        {
            errorType = error["type"] as? String
            errorCode = error["code"] as? String
            providerMessage = error["message"] as? String
        }
        let detail = providerMessage.map { ": \($0)" } ?? ""
        let retryAfter = ProviderRetryPolicy.retryAfterMilliseconds(headers: headers)
        let retryable = policy.isRetryable(status: status, errorType: errorType, errorCode: errorCode)
        let type: String
        var message: String
        switch status {
        case 401:
            type = "authentication_error"
            message = "the provider rejected the API key (HTTP 401)\(detail); set \(keyVariable) to a valid key"
        case 403:
            type = "permission_denied"
            message = "the API key in \(keyVariable) may not use this model or endpoint (HTTP 403)\(detail)"
        case 404:
            type = "not_found"
            message = "not found (HTTP 404) at \(baseURL) for model '\(agent.model)'\(detail)"
        case 429 where !retryable:
            type = errorCode ?? errorType ?? "insufficient_quota"
            message = "out of quota or over a spend limit (HTTP 429)\(detail); waiting will not help"
        case 429:
            type = "rate_limited"
            message = "rate limited (HTTP 429)\(detail)"
        case 529:
            type = "overloaded"
            message = "the provider is overloaded (HTTP 529)\(detail)"
        case 500...599:
            type = errorType == "overloaded_error" ? "overloaded" : "server_error"
            message = "the provider failed (HTTP \(status))\(detail)"
        case 400, 422:
            type = errorType.map { $0.hasSuffix("_error") ? $0 : "invalid_request" } ?? "invalid_request"
            message = "the provider refused the request (HTTP \(status))\(detail)"
        default:
            type = retryable ? "provider_error" : (errorType ?? "provider_error")
            message = "the provider answered HTTP \(status)\(detail)"
        }
        return AttemptFailure(type: type, message: message, retryable: retryable, status: status, retryAfterMilliseconds: retryAfter)
    }

    /// Maps a transport problem (no usable HTTP answer) to a failure: retryable, except an
    /// answer past the size limit, which asking again would only repeat.
    static func failure(from error: any Error) -> AttemptFailure? {
        switch error {
        case let failure as HTTPExchange.Failure:
            switch failure {
            case .connection: return AttemptFailure(type: "connection_error", message: failure.description, retryable: true)
            case .timedOut: return AttemptFailure(type: "timeout", message: failure.description, retryable: true)
            case .stalled: return AttemptFailure(type: "stream_stalled", message: failure.description, retryable: true)
            case .tooLarge: return AttemptFailure(type: "answer_too_large", message: failure.description, retryable: false)
            }
        case let failure as AttemptFailure:
            return failure
        default:
            return nil
        }
    }

    /// A stream that ended before its finish: never an answer.
    static let truncated = AttemptFailure(
        type: "stream_truncated", message: "the stream ended before its finish reason; the partial answer was discarded",
        retryable: true)

    static func malformed(_ what: String) -> AttemptFailure {
        AttemptFailure(
            type: "stream_malformed", message: "the stream sent a malformed chunk (\(what)); the partial answer was discarded",
            retryable: true)
    }

    static func isLocal(_ url: String) -> Bool {
        localURLs.value(for: url, limit: 256) {
            guard let host = URL(string: url)?.host else { return false }
            return host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]"
        }
    }

    /// Whether each base URL seen names this machine: parsing a URL per call showed in profiles.
    private static let localURLs = Locked<[String: Bool]>([:])

    /// Removes the key from text that came from elsewhere (a provider's error message may quote it).
    static func scrub(_ text: String, key: String) -> String {
        guard key.count >= 8 else { return text }
        return text.replacingOccurrences(of: key, with: "[redacted]")
    }

    /// The request JSON as sent, keys sorted.
    ///
    /// Bodies made of Swift's own values (strings, integers, doubles, booleans, `NSNull`, arrays
    /// and dictionaries of them) are written here; anything else (a tool schema parsed by
    /// `JSONSerialization` holds Foundation numbers) goes through `JSONSerialization`.
    /// `JSONSerialization` took a tenth of a worker's CPU at a thousand calls in flight.
    static func encode(_ body: [String: Any]) throws -> Data {
        var text = ""
        if appendJSON(body, to: &text) { return Data(text.utf8) }
        return try JSONSerialization.data(withJSONObject: body, options: [.withoutEscapingSlashes, .sortedKeys])
    }

    /// Appends `value` as JSON. - returns: false for a value of another type (nothing usable is appended then).
    ///
    /// Types are compared exactly before any cast: on Linux `is NSNull`, or a failed `as?`, on
    /// a Swift dictionary bridges it (and everything in it) to Foundation objects first, which
    /// cost 150k instructions per request body.
    private static func appendJSON(_ value: Any, to out: inout String) -> Bool {
        let type = Swift.type(of: value)
        if type == String.self, let string = value as? String {
            JSONText.appendQuoted(string, to: &out)
        } else if type == Int.self, let number = value as? Int {
            out.append(String(number))
        } else if type == Bool.self, let flag = value as? Bool {
            out.append(flag ? "true" : "false")
        } else if type == Double.self, let number = value as? Double {
            guard number.isFinite else { return false }
            out.append(number.description)
        } else if type == NSNull.self {
            out.append("null")
        } else if type == [String: Any].self, let object = value as? [String: Any] {
            return appendObject(object, to: &out)
        } else if type == [[String: Any]].self, let objects = value as? [[String: Any]] {
            out.append("[")
            for (index, object) in objects.enumerated() {
                if index > 0 { out.append(",") }
                guard appendObject(object, to: &out) else { return false }
            }
            out.append("]")
        } else if type == [Any].self, let array = value as? [Any] {
            out.append("[")
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(",") }
                guard appendJSON(element, to: &out) else { return false }
            }
            out.append("]")
        } else if let object = value as? [String: Any] {
            // Other dictionary and array types ([String: String], [[String: String]]…): the slow casts.
            return appendObject(object, to: &out)
        } else if let array = value as? [Any] {
            return appendJSON(array, to: &out)
        } else if value is NSNull {
            out.append("null")
        } else {
            return false
        }
        return true
    }

    private static func appendObject(_ object: [String: Any], to out: inout String) -> Bool {
        out.append("{")
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { out.append(",") }
            JSONText.appendQuoted(key, to: &out)
            out.append(":")
            guard appendJSON(object[key]!, to: &out) else { return false }
        }
        out.append("}")
        return true
    }

    var timeoutSeconds: Double { agent.http.timeoutSeconds ?? 600 }
    var idleSeconds: Double { agent.http.streamIdleTimeoutSeconds ?? 60 }

    /// Sends one non-streamed JSON request and returns the answer's JSON object.
    /// - throws: ``AttemptFailure`` for an HTTP error or an answer that is not a JSON object.
    func requestObject(url: String, headers: [(String, String)], body: Data, token: CancellationToken) async throws
        -> [String: Any]
    {
        let response = try await exchange(url: url, headers: headers, body: body, token: token, onEvent: nil)
        guard (200..<300).contains(response.status) else {
            throw failure(status: response.status, headers: response.headers, body: response.body)
        }
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw AttemptFailure(type: "invalid_response", message: "the answer was not a JSON object", retryable: true)
        }
        return object
    }

    /// Sends one JSON request, streamed or not, mapping transport errors to attempt failures.
    func exchange(
        url: String, headers: [(String, String)], body data: Data, token: CancellationToken,
        onEvent: (@Sendable (ServerSentEventParser.Event) throws -> Void)?
    ) async throws -> HTTPExchange.Response {
        let allHeaders = headers + [("content-type", "application/json"), ("accept", onEvent == nil ? "application/json" : "text/event-stream")]
        do {
            if let onEvent {
                return try await HTTPExchange.stream(
                    url: url, headers: allHeaders, body: data, idleSeconds: idleSeconds, timeoutSeconds: timeoutSeconds,
                    token: token, onEvent: onEvent)
            }
            return try await HTTPExchange.send(url: url, headers: allHeaders, body: data, timeoutSeconds: timeoutSeconds, token: token)
        } catch let cancelled as JobCancelled {
            throw cancelled
        } catch {
            if let failure = Self.failure(from: error) { throw failure }
            throw AttemptFailure(type: "connection_error", message: "\(error)", retryable: true)
        }
    }
}
