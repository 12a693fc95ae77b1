import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A real HTTP client for the tests of `agentq serve`: requests over a socket, JSON decoded.
///
/// ```swift
/// let client = APIClient(baseURL: server.baseURL)
/// let created = try await client.send("POST", "/sessions", json: ["agent": "echo"])
/// #expect(created.status == 201)
/// ```
public final class APIClient: Sendable {
    public let baseURL: String
    public let token: String?
    let http: HTTPClient

    public init(baseURL: String, token: String? = nil) {
        self.baseURL = baseURL
        self.token = token
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? http.syncShutdown() }

    /// Sends a request and reads the whole response.
    /// - parameter json: encoded with JSONSerialization as the body.
    /// - parameter body: raw bytes, sent as `contentType`.
    public func send(
        _ method: String, _ path: String, json: Any? = nil, body: Data? = nil, contentType: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> APIResponse {
        let request = try makeRequest(method, path, json: json, body: body, contentType: contentType, headers: headers)
        let response = try await http.execute(request, timeout: .seconds(120))
        let buffer = try await response.body.collect(upTo: 1 << 30)
        let data = Data(buffer.readableBytesView)
        return APIResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name.lowercased(), $0.value) }, body: data)
    }

    /// Sends a request and yields the server-sent events of its response one by one, as they arrive.
    /// Cancelling the reading task closes the connection.
    public func events(
        _ method: String, _ path: String, json: Any? = nil, headers: [String: String] = [:]
    ) async throws -> (status: Int, events: AsyncThrowingStream<ServerSentEvent, any Error>) {
        let request = try makeRequest(method, path, json: json, body: nil, contentType: nil, headers: headers)
        let response = try await http.execute(request, timeout: .seconds(300))
        let body = response.body
        let stream = AsyncThrowingStream<ServerSentEvent, any Error> { continuation in
            let task = Task {
                var parser = ServerSentEventReader()
                do {
                    for try await chunk in body {
                        for event in parser.feed(String(buffer: chunk)) { continuation.yield(event) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
        return (Int(response.status.code), stream)
    }

    private func makeRequest(
        _ method: String, _ path: String, json: Any?, body: Data?, contentType: String?, headers: [String: String]
    ) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json)
            request.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: data))
        } else if let body {
            if let contentType { request.headers.replaceOrAdd(name: "Content-Type", value: contentType) }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }
}

/// A whole HTTP response.
public struct APIResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that (lower-case) name.
    public func header(_ name: String) -> String? { headers.first { $0.0 == name.lowercased() }?.1 }

    /// The body as a JSON object, or nil.
    public var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    /// The body as a JSON array of objects, or nil.
    public var array: [[String: Any]]? { (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] }

    /// `error.type` of an error document.
    public var errorType: String? { (object?["error"] as? [String: Any])?["type"] as? String }
}

/// One server-sent event: its `event:` name (default `message`) and `data:`; comments are
/// events named `:` with the comment as data.
public struct ServerSentEvent: Sendable, Hashable {
    public var event: String
    public var data: String

    /// `data` as a JSON object, or nil.
    public var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] }
}

/// Splits a `text/event-stream` into events as chunks arrive.
public struct ServerSentEventReader: Sendable {
    private var pending = ""

    public init() {}

    public mutating func feed(_ chunk: String) -> [ServerSentEvent] {
        pending += chunk.replacingOccurrences(of: "\r\n", with: "\n")
        var events: [ServerSentEvent] = []
        while let end = pending.range(of: "\n\n") {
            let block = pending[..<end.lowerBound]
            pending = String(pending[end.upperBound...])
            var name = "message", data: [String] = [], comment: String?
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comment = String(line.dropFirst()).trimmingCharacters(in: .whitespaces); continue }
                let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let field = String(parts[0])
                var value = parts.count > 1 ? String(parts[1]) : ""
                if value.hasPrefix(" ") { value.removeFirst() }
                if field == "event" { name = value } else if field == "data" { data.append(value) }
            }
            if data.isEmpty, let comment {
                events.append(ServerSentEvent(event: ":", data: comment))
            } else if !data.isEmpty {
                events.append(ServerSentEvent(event: name, data: data.joined(separator: "\n")))
            }
        }
        return events
    }
}
