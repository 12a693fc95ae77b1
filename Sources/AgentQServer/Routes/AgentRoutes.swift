import AgentQ
import Hummingbird

/// The Agent endpoints (to be built).
struct AgentRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
