import AgentQ
import Hummingbird

/// The Batch endpoints (to be built).
struct BatchRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
