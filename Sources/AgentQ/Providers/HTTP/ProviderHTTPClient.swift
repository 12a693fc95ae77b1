import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// The process's HTTP clients for model providers.
///
/// AsyncHTTPClient's shared client keeps at most 8 HTTP/1.1 connections per host, so
/// `--concurrency 1024` against an HTTP/1.1 endpoint (a local server, a proxy) would queue all
/// but 8 calls inside the client. These allow `AGENTQ_HTTP_CONNECTIONS_PER_HOST` connections
/// (default 4,096): the concurrency, the rpm/tpm budgets and the 429 gate decide how many calls
/// are in flight, not the pool. HTTP/2 endpoints multiplex on fewer connections.
///
/// A call borrows one of several clients, the first with fewer than ``callsPerClient`` calls
/// under way: a client's connection pool copies its list of connections on every connection it
/// opens, so one client opening 1,024 connections spent a fifth of the first wave's CPU copying
/// (and spread that wave's calls over a further ~100 ms). Up to ``callsPerClient`` calls at once
/// everything goes through the first client, whose connections are reused as before.
///
/// ```swift
/// let response = try await ProviderHTTPClient.withClient { client in
///     try await client.execute(request, timeout: .seconds(600))
/// }
/// ```
enum ProviderHTTPClient {
    static let connectionsPerHost: Int = {
        let text = ProcessInfo.processInfo.environment["AGENTQ_HTTP_CONNECTIONS_PER_HOST"] ?? ""
        guard let value = Int(text), value > 0 else { return 4096 }
        return value
    }()

    /// Calls a client takes before the next one is used.
    static let callsPerClient = 64

    /// Clients made as they are first needed; they live as long as the process, like
    /// HTTPClient.shared, and share its event loops.
    private static let clients = Locked<(clients: [HTTPClient], calls: [Int])>(([], []))

    /// Runs `body` with a client that has room for one more call; the call counts against that
    /// client until `body` returns (a streamed body must be read inside it).
    static func withClient<T>(_ body: (HTTPClient) async throws -> T) async rethrows -> T {
        let (index, client) = borrow()
        defer { clients.update { $0.calls[index] -= 1 } }
        return try await body(client)
    }

    private static func borrow() -> (Int, HTTPClient) {
        clients.update { state in
            if let index = state.calls.firstIndex(where: { $0 < callsPerClient }) {
                state.calls[index] += 1
                return (index, state.clients[index])
            }
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
            let client = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
            state.clients.append(client)
            state.calls.append(1)
            return (state.clients.count - 1, client)
        }
    }
}
