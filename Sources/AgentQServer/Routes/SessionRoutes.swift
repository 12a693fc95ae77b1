import AgentQ
import Hummingbird

/// The Session endpoints (to be built).
struct SessionRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
