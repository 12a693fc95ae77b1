import AgentQ
import Hummingbird

/// The OpenAIBatch endpoints (to be built).
struct OpenAIBatchRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
