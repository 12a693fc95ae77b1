import Foundation

/// How `agentq serve` listens and what it runs.
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.port = 2323
/// configuration.token = ProcessInfo.processInfo.environment["AGENTQ_API_TOKEN"]
/// try await AgentQServer(queue: queue, configuration: configuration).run()
/// ```
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    /// 0 picks a free port; ``AgentQServer/run(onListening:)`` reports the one bound.
    public var port = 2323
    /// Jobs the in-process worker pool runs at once.
    public var concurrency = 16
    /// Whether this process also runs a worker pool on the home (`--no-worker` turns it off).
    public var runsWorker = true
    /// Seconds running jobs get to finish when the server stops.
    public var graceSeconds: Double = 10
    /// The bearer token every endpoint but `/healthz` requires; nil: no authentication.
    public var token: String?
    /// Largest JSON request body.
    public var maxJSONBytes = 1 << 20
    /// Largest JSONL or file upload.
    public var maxUploadBytes = 512 << 20
    /// The agent of an OpenAI batch line whose `model` names no agent and whose batch names none.
    public var defaultAgent: String?
    /// Seconds between `: ping` comments on an idle event stream.
    public var pingSeconds: Double = 10

    public init() {}

    /// Whether `host` is a loopback address, which may go without a token.
    public var bindsLoopbackOnly: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.")
    }
}
