import AgentQ
import JobQueue

/// What every route of one server shares: the queue on its home and the configuration.
///
/// ```swift
/// let environment = ServerEnvironment(queue: queue, configuration: configuration)
/// SessionRoutes(environment: environment).register(on: router)
/// ```
public struct ServerEnvironment: Sendable {
    public let queue: AgentQueue
    public let configuration: ServerConfiguration
    /// The worker ID of this process's pool (when it runs one): a job it holds runs here, so
    /// its turn's events arrive live through ``TurnObservers``.
    public let workerID: String

    public init(queue: AgentQueue, configuration: ServerConfiguration) {
        self.queue = queue
        self.configuration = configuration
        workerID = SortableID.make(prefix: "wrk_")
    }
}
