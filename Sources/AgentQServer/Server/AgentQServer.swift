import AgentQ
import Foundation
import Hummingbird
import JobQueue
import Logging
import NIOCore
import ServiceLifecycle

/// `agentq serve`: the HTTP API on one home, and (unless told not to) a worker pool on it.
///
/// Routes are thin: each calls the AgentQ library and answers with the same JSON documents the
/// CLI prints with `--json`. Every blocking call runs off the event loop (see ``blocking(_:)``).
///
/// ```swift
/// let server = try AgentQServer(queue: queue, configuration: ServerConfiguration())
/// try await server.run { host, port in print("listening on http://\(host):\(port)") }
/// ```
public struct AgentQServer: Sendable {
    public let environment: ServerEnvironment

    /// - throws: ``AgentQError`` `.invalidInput` when the address is not loopback and no token is set.
    public init(queue: AgentQueue, configuration: ServerConfiguration) throws {
        if !configuration.bindsLoopbackOnly && (configuration.token ?? "").isEmpty {
            throw AgentQError(
                .invalidInput,
                "refusing to serve on \(configuration.host) without a token: anyone who can reach it could run agents. "
                    + "Set AGENTQ_API_TOKEN, or bind 127.0.0.1")
        }
        environment = ServerEnvironment(queue: queue, configuration: configuration)
    }

    /// Every route of the API, behind the error and auth middleware.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        if let token = environment.configuration.token, !token.isEmpty {
            router.add(middleware: BearerTokenMiddleware(token: token))
        }
        HealthRoutes(environment: environment).register(on: router)
        SessionRoutes(environment: environment).register(on: router)
        JobRoutes(environment: environment).register(on: router)
        BatchRoutes(environment: environment).register(on: router)
        AgentRoutes(environment: environment).register(on: router)
        OpenAIBatchRoutes(environment: environment).register(on: router)
        MetricsRoutes(environment: environment).register(on: router)
        OpenAPIRoutes(environment: environment).register(on: router)
        return router
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting, finishes in-flight requests and
    /// the worker's grace period, and returns.
    /// - parameter onListening: the address bound (the port is the real one when 0 was asked).
    /// - throws: when the address cannot be bound.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        // Before the worker starts: the engine's metric objects bind to the backend on first use.
        ServerMetrics.bootstrap()
        let configuration = environment.configuration
        let logger = { () -> Logger in
            var logger = Logger(label: "agentq.serve")
            logger.logLevel = .info
            return logger
        }()
        let host = configuration.host
        let app = Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: configuration.port), serverName: "agentq"),
            onServerRunning: { channel in
                onListening(host, channel.localAddress?.port ?? configuration.port)
            },
            logger: logger)
        var services: [any Service] = []
        if configuration.runsWorker {
            let options = WorkerOptions(
                mode: .forever, concurrency: configuration.concurrency, workerID: environment.workerID,
                log: { message in logger.info("\(message)") })
            services.append(WorkerService(queue: environment.queue, options: options, graceSeconds: configuration.graceSeconds))
        }
        services.append(OpenAIBatchFinalizerService(
            service: OpenAIBatchService(queue: environment.queue, defaultAgent: configuration.defaultAgent),
            intervalSeconds: 2, logger: logger))
        // Stopped in reverse order: the HTTP server first, then the worker that runs its turns.
        services.append(app)
        var groupConfiguration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A request that waits on a turn nobody will run (a paused session, no worker) would hold
        // the shutdown forever: after the grace period and a margin, the group cancels it.
        groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.graceSeconds * 1000) + 5000)
        try await ServiceGroup(configuration: groupConfiguration).run()
    }
}
