import AgentQ
import Hummingbird

/// `GET /metrics`: every metric of this process in the Prometheus text format, plus the jobs
/// and sessions of the whole home by status, read at scrape time.
struct MetricsRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        router.get("/metrics") { _, _ -> Response in
            let bytes = try await blocking { try ServerMetrics.scrape(queue: queue) }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
