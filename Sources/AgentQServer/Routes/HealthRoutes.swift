import AgentQ
import Hummingbird

/// `GET /healthz`: answers without a token, for load balancers and scripts that wait for the server.
struct HealthRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        router.get("/healthz") { _, _ -> Response in
            // Reading the database proves the home is usable, not only that the socket is open:
            // one primary-key lookup, not a count of every job, since load balancers ask often.
            _ = try await blocking { try queue.store.job(id: "job_healthz") }
            return JSONResponse.make(#"{"status":"ok"}"#)
        }
    }
}
