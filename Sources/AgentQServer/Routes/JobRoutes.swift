import AgentQ
import Hummingbird

/// The Job endpoints (to be built).
struct JobRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
