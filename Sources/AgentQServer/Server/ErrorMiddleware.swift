import Hummingbird

/// Turns every error a route throws, and the router's own 404 and 405, into agentq's JSON
/// error document with its status, so a client never sees an empty body or a bare 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(error)
            if apiError.status == .internalServerError {
                context.logger.error("\(request.method) \(request.uri.path): \(apiError.message)")
            }
            return JSONResponse.make(apiError.jsonText, status: apiError.status)
        }
    }
}
