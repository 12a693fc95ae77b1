import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// The process's one HTTP client for model providers.
///
/// AsyncHTTPClient's shared client keeps at most 8 HTTP/1.1 connections per host, so
/// `--concurrency 1024` against an HTTP/1.1 endpoint (a local server, a proxy) would queue all
/// but 8 calls inside the client. This one allows `AGENTQ_HTTP_CONNECTIONS_PER_HOST`
/// connections (default 4,096): the concurrency, the rpm/tpm budgets and the 429 gate decide
/// how many calls are in flight, not the pool. HTTP/2 endpoints multiplex on fewer connections.
///
/// ```swift
/// let response = try await ProviderHTTPClient.shared.execute(request, timeout: .seconds(600))
/// ```
enum ProviderHTTPClient {
    static let connectionsPerHost: Int = {
        let text = ProcessInfo.processInfo.environment["AGENTQ_HTTP_CONNECTIONS_PER_HOST"] ?? ""
        guard let value = Int(text), value > 0 else { return 4096 }
        return value
    }()

    static let shared: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        // Lives as long as the process, like HTTPClient.shared.
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()
}
