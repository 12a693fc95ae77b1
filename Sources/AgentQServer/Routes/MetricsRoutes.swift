import AgentQ
import Hummingbird

/// The Metrics endpoints (to be built).
struct MetricsRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {}
}
