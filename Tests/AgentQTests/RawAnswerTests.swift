import AgentQ
import Foundation
import JobQueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A loopback server that answers every request with raw HTTP chunks: a body that never ends
/// (a `data:` line without a newline when streamed, a JSON string that never closes
/// otherwise), written until the client hangs up; or the exact chunks given. It counts the
/// requests it got.
final class RawAnswerServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var accepted = 0

    var requests: Int { lock.withLock { accepted } }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// - parameter chunks: the body's HTTP chunks, exactly; nil: a body without end.
    /// - parameter trickle: the endless body comes a byte every 100 ms instead of as fast as it can.
    init(streamed: Bool, chunks: [String]? = nil, trickle: Bool = false) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                lock.withLock { accepted += 1 }
                Thread { Self.answer(client, streamed: streamed, chunks: chunks, trickle: trickle) }.start()
            }
        }.start()
    }

    private static func answer(_ client: Int32, streamed: Bool, chunks: [String]?, trickle: Bool) {
        defer { close(client) }
        var request = [UInt8](repeating: 0, count: 1 << 16)
        _ = read(client, &request, request.count)
        let head = "HTTP/1.1 200 OK\r\ncontent-type: \(streamed ? "text/event-stream" : "application/json")\r\n"
            + "transfer-encoding: chunked\r\n\r\n"
        if let chunks {
            _ = send(all: Array(head.utf8) + chunks.flatMap(chunk) + Array("0\r\n\r\n".utf8), to: client)
            return
        }
        let opening = streamed ? "data: " : #"{"choices":[{"message":{"role":"assistant","content":""#
        if trickle {
            guard send(all: Array(head.utf8) + chunk(opening), to: client) else { return }
            repeat { usleep(100_000) } while send(all: chunk("x"), to: client)
            return
        }
        let piece = String(repeating: "x", count: 1 << 20)
        guard send(all: Array(head.utf8) + chunk(opening + piece), to: client) else { return }
        let next = chunk(piece)
        while send(all: next, to: client) {}
    }

    private static func chunk(_ text: String) -> [UInt8] {
        Array((String(text.utf8.count, radix: 16) + "\r\n" + text + "\r\n").utf8)
    }

    /// false once the client has gone (no SIGPIPE: MSG_NOSIGNAL).
    private static func send(all bytes: [UInt8], to client: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            guard result > 0 else { return false }
            sent += result
        }
        return true
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

@Suite("Raw provider answers: without end, or cut at awkward places")
struct RawAnswerTests {
    static func request(_ server: RawAnswerServer, streamed: Bool, timeout: Double = 20) -> ModelRequest {
        var agent = AgentDefinition(name: "raw", provider: "openai", model: "m")
        agent.http = ProviderSettings(baseURL: server.baseURL, stream: streamed, timeoutSeconds: timeout)
        return ModelRequest(agent: agent, messages: [ChatMessage(role: .user, content: "hi")], tools: [], attempt: 1)
    }

    @Test("server-sent events read the same whatever the line ends (LF, CRLF, CR) and wherever the chunks cut them")
    func lineEnds() async throws {
        let events = [
            #"data: {"choices":[{"index":0,"delta":{"content":"one "}}]}"#,
            // One event over two data lines (joined with a newline): only right if a CRLF ends one line.
            #"data: {"choices":[{"index":0,"#, #"data: "delta":{"content":"two "}}]}"#,
            ": a comment to ignore",
            #"data: {"choices":[{"index":0,"delta":{"content":"three"},"finish_reason":"stop"}]}"#,
            "data: [DONE]",
        ]
        for end in ["\n", "\r\n", "\r"] {
            let body = events.enumerated().map { index, line in
                // The first half of the two-line event ends with one line end, not a blank line.
                index == 1 ? line + end : line + end + end
            }.joined()
            let bytes = Array(body.utf8)
            // Cut every 7 bytes, so line ends (and the two bytes of a CRLF) fall across chunks.
            let chunks = stride(from: 0, to: bytes.count, by: 7).map {
                String(decoding: bytes[$0..<min($0 + 7, bytes.count)], as: UTF8.self)
            }
            let server = try RawAnswerServer(streamed: true, chunks: chunks)
            defer { server.stop() }
            let response = try await OpenAIProvider(environment: [:]).respond(
                to: Self.request(server, streamed: true), token: CancellationToken(), threads: WorkerThreads(count: 2, label: "raw"))
            #expect(response.text == "one two three", "line end \(Array(end.utf8))")
        }
    }

    @Test("an answer that trickles forever (never silent, never done) ends at the agent's timeout", .timeLimit(.minutes(2)),
          arguments: [true, false])
    func trickleTimesOut(streamed: Bool) async throws {
        let server = try RawAnswerServer(streamed: streamed, trickle: true)
        defer { server.stop() }
        var request = Self.request(server, streamed: streamed, timeout: 1.5)
        request.agent.http.streamIdleTimeoutSeconds = 1
        let started = Date()
        let error = try await #require(throws: ProviderError.self) {
            try await OpenAIProvider(environment: [:]).respond(to: request, token: CancellationToken(), threads: WorkerThreads(count: 2, label: "raw"))
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(error.type == "timeout", "\(error)")
        // Four attempts of 1.5 s each (before the fix, the first never ended: the time limit fails it).
        #expect(elapsed >= 4.5, "\(elapsed) s for \(server.requests) requests")
        #expect(server.requests == 4)
    }

    @Test("an answer without end is cut off at 64 MiB, not read into memory until the timeout, and not asked again",
          .timeLimit(.minutes(2)), arguments: [true, false])
    func cutOff(streamed: Bool) async throws {
        let server = try RawAnswerServer(streamed: streamed)
        defer { server.stop() }
        // The default timeout: the size limit, not the clock, must end it.
        let request = Self.request(server, streamed: streamed, timeout: 600)
        let error = try await #require(throws: ProviderError.self) {
            try await OpenAIProvider(environment: [:]).respond(to: request, token: CancellationToken(), threads: WorkerThreads(count: 2, label: "raw"))
        }
        #expect(error.type == "answer_too_large", "\(error)")
        #expect(error.message.contains("64 MiB"), "\(error.message)")
        #expect(!error.retryable)
        #expect(server.requests == 1)
    }
}
