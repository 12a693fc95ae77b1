import AgentQ
import Foundation
import Hummingbird

/// The OpenAI Files and Batch APIs under `/v1`, so the official SDKs work unchanged with
/// `base_url=http://host:port/v1`.
///
/// - `POST /v1/files` (multipart: `purpose=batch`, `file`), `GET /v1/files`, `GET /v1/files/{id}`,
///   `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}`
/// - `POST /v1/batches`, `GET /v1/batches?limit=&after=`, `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`
///
/// The work is ``OpenAIBatchService``'s; uploads are streamed to the home's files directory.
struct OpenAIBatchRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        let service = OpenAIBatchService(queue: environment.queue, defaultAgent: environment.configuration.defaultAgent)
        let configuration = environment.configuration
        let files = service.files

        router.post("/v1/files") { request, _ -> Response in
            let file = try await FileUpload.receive(request, into: files, limit: configuration.maxUploadBytes)
            return JSONResponse.make(file.jsonText)
        }
        router.get("/v1/files") { request, _ -> Response in
            let limit = try request.queryInt("limit", in: 1...10_000) ?? 10_000
            let purpose = request.queryString("purpose"), after = request.queryString("after")
            let page = try await blocking { try files.files(purpose: purpose, limit: limit + 1, after: after) }
            return Self.list(page.map { ($0.id, $0.jsonText) }, limit: limit)
        }
        router.get("/v1/files/{id}") { _, context -> Response in
            JSONResponse.make(try await Self.file(try context.pathParameter("id"), files).jsonText)
        }
        router.get("/v1/files/{id}/content") { _, context -> Response in
            let file = try await Self.file(try context.pathParameter("id"), files)
            let body = try await FileIO().loadFile(path: files.contentURL(id: file.id).path, context: context)
            return Response(status: .ok, headers: [.contentType: "application/jsonl"], body: body)
        }
        router.delete("/v1/files/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            guard try await blocking({ try files.delete(id: id) }) else { throw APIError.notFound("no file with ID '\(id)'") }
            var json = JSONText()
            json.object { $0.field("id", id); $0.field("object", "file"); $0.field("deleted", raw: "true") }
            return JSONResponse.make(json.text)
        }

        router.post("/v1/batches") { request, _ -> Response in
            let body = try await RequestJSON.object(request, limit: configuration.maxJSONBytes)
            let inputFileID = try body.requiredString("input_file_id")
            let endpoint = try body.requiredString("endpoint")
            let window = try body.string("completion_window") ?? OpenAIBatchService.supportedWindow
            let (metadata, agent) = try Self.metadata(body.fields["metadata"])
            let batch = try await blocking {
                try service.create(
                    inputFileID: inputFileID, endpoint: endpoint, completionWindow: window, metadata: metadata,
                    metadataAgent: agent)
            }
            return JSONResponse.make(batch.jsonText)
        }
        router.get("/v1/batches") { request, _ -> Response in
            let limit = try request.queryInt("limit", in: 1...100) ?? 20
            let after = request.queryString("after")
            let page = try await blocking { try service.list(limit: limit + 1, after: after) }
            return Self.list(page.map { ($0.id, $0.jsonText) }, limit: limit)
        }
        router.get("/v1/batches/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            guard let batch = try await blocking({ try service.batch(id: id) }) else {
                throw APIError.notFound("no batch with ID '\(id)'")
            }
            return JSONResponse.make(batch.jsonText)
        }
        router.post("/v1/batches/{id}/cancel") { _, context -> Response in
            let id = try context.pathParameter("id")
            switch try await blocking({ try service.cancel(id: id) }) {
            case nil:
                throw APIError.notFound("no batch with ID '\(id)'")
            case .cancelling(let batch)?:
                return JSONResponse.make(batch.jsonText)
            case .notCancellable(let batch)?:
                throw APIError.conflict("batch '\(id)' is \(batch.status.rawValue); only a validating or in-progress batch can be cancelled")
            }
        }
    }

    private static func file(_ id: String, _ files: OpenAIFileStore) async throws -> OpenAIFile {
        guard let file = try await blocking({ try files.file(id: id) }) else { throw APIError.notFound("no file with ID '\(id)'") }
        return file
    }

    /// OpenAI's list object; `items` holds one more than `limit` when there are more.
    private static func list(_ items: [(id: String, json: String)], limit: Int) -> Response {
        let page = items.prefix(limit)
        var json = JSONText()
        json.object {
            $0.field("object", "list")
            $0.field("data", raw: "[" + page.map(\.json).joined(separator: ",") + "]")
            $0.field("first_id", page.first?.id)
            $0.field("last_id", page.last?.id)
            $0.field("has_more", raw: items.count > limit ? "true" : "false")
        }
        return JSONResponse.make(json.text)
    }

    /// The metadata object as JSON text, and its `agent`; OpenAI's limits: at most 16 string values.
    /// - throws: ``APIError`` 400 naming what is wrong.
    private static func metadata(_ value: Any?) throws -> (String?, String?) {
        guard let value, !(value is NSNull) else { return (nil, nil) }
        guard let object = value as? [String: Any] else { throw APIError.badRequest("\"metadata\" must be an object") }
        guard object.count <= 16 else { throw APIError.badRequest("\"metadata\" has \(object.count) keys; at most 16") }
        for (key, value) in object {
            guard key.count <= 64 else { throw APIError.badRequest("metadata key '\(key.prefix(64))…' is longer than 64 characters") }
            guard let text = value as? String, text.count <= 512 else {
                throw APIError.badRequest("metadata.\(key) must be a string of at most 512 characters")
            }
        }
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return (String(decoding: data, as: UTF8.self), object["agent"] as? String)
    }
}
