import Hummingbird

/// A response whose body is JSON text made by one of agentq's documents.
///
/// ```swift
/// return JSONResponse.make(SessionDocument.json(for: session), status: .created)
/// ```
enum JSONResponse {
    static func make(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A JSON array of documents.
    static func array(_ items: [String], status: HTTPResponse.Status = .ok) -> Response {
        make("[" + items.joined(separator: ",") + "]", status: status)
    }
}
