import AgentQ
import Hummingbird

/// `GET /openapi.json`: the OpenAPI 3.1 document of this API (see ``OpenAPIDocument``).
struct OpenAPIRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        router.get("/openapi.json") { _, _ -> Response in JSONResponse.make(OpenAPIDocument.jsonText) }
    }
}
