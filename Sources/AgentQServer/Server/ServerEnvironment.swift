import AgentQ

/// What every route of one server shares: the queue on its home and the configuration.
///
/// ```swift
/// let environment = ServerEnvironment(queue: queue, configuration: configuration)
/// SessionRoutes(environment: environment).register(on: router)
/// ```
public struct ServerEnvironment: Sendable {
    public let queue: AgentQueue
    public let configuration: ServerConfiguration

    public init(queue: AgentQueue, configuration: ServerConfiguration) {
        self.queue = queue
        self.configuration = configuration
    }
}
