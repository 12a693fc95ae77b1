import AgentQ
import Foundation
import Hummingbird
import JobQueue

/// The batch endpoints: submit a JSONL body as a batch, list, status, results, cancel.
///
/// `GET /batches?limit=&after=` lists newest first; `after` is the `batch_id` of the last batch
/// of the previous page.
struct BatchRoutes: Sendable {
    let environment: ServerEnvironment

    static let defaultLimit = 50
    static let maxLimit = 1000

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        let maxUploadBytes = environment.configuration.maxUploadBytes

        router.post("/batches") { request, _ -> Response in
            let options = try BatchUpload.options(from: request)
            let report = try await BatchUpload(queue: queue, limit: maxUploadBytes).submit(request, options: options)
            return JSONResponse.make(report.json, status: .created)
        }

        router.get("/batches") { request, _ -> Response in
            let limit = try request.queryInt("limit", in: 1...Self.maxLimit) ?? Self.defaultLimit
            let after = request.queryString("after")
            let documents = try await blocking { () -> [String] in
                if let after, try queue.store.batch(id: after) == nil {
                    throw APIError.badRequest("query parameter after=\(after) names no batch (give the batch_id of a listed batch)")
                }
                return try queue.store.batches(limit: limit, after: after).map { BatchDocument.json(for: $0) }
            }
            return JSONResponse.array(documents)
        }

        router.get("/batches/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            let document = try await blocking {
                BatchDocument.json(for: try queue.requireBatch(id: id), usage: try queue.budgets.usage(batchID: id))
            }
            return JSONResponse.make(document)
        }

        router.get("/batches/{id}/results") { _, context -> Response in
            let id = try context.pathParameter("id")
            _ = try await blocking { try queue.requireBatch(id: id) }
            let pages = BatchResultPages(store: queue.store, batchID: id)
            // Written a page at a time as the client reads: a batch of millions of jobs costs the
            // memory of one page. The status is sent before the first page, so a failure later can
            // only cut the body short (the client sees a truncated stream, not a 200 with an error).
            let body = ResponseBody { writer in
                var after: Int64? = nil
                repeat {
                    let cursor = after
                    let page = try await blocking { try pages.page(after: cursor) }
                    if !page.bytes.isEmpty { try await writer.write(ByteBuffer(bytes: page.bytes)) }
                    after = page.next
                } while after != nil
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: body)
        }

        router.post("/batches/{id}/cancel") { _, context -> Response in
            let id = try context.pathParameter("id")
            let document = try await blocking { () -> String in
                _ = try queue.requireBatch(id: id)
                return CancelDocument.json(forBatch: id, outcomes: try queue.cancel(.batch(id)))
            }
            return JSONResponse.make(document)
        }
    }
}
