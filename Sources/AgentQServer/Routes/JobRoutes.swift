import AgentQ
import Hummingbird
import JobQueue

/// The job endpoints: list (paged), one job's document, cancel and retry.
///
/// `GET /jobs?status=&batch=&session=&limit=&after=` lists newest first (a batch's jobs in
/// input order, as `agentq jobs list --batch` does). `after` is the `job_id` of the last job of
/// the previous page: the next page starts right after it in the same order, however many jobs
/// were added meanwhile (the cursor is the job's position in the queue, which never changes).
struct JobRoutes: Sendable {
    let environment: ServerEnvironment

    /// Jobs a page shows when `limit` is not given, and at most.
    static let defaultLimit = 50
    static let maxLimit = 1000

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        router.get("/jobs") { request, _ -> Response in
            let status = try request.queryString("status").map { text -> JobStatus in
                guard let status = JobStatus(rawValue: text) else {
                    throw APIError.badRequest(
                        "query parameter status=\(text) must be one of: \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
            let limit = try request.queryInt("limit", in: 1...Self.maxLimit) ?? Self.defaultLimit
            let batch = request.queryString("batch"), session = request.queryString("session")
            let after = request.queryString("after")
            let documents = try await blocking { () -> [String] in
                var afterSeq: Int64?
                if let after {
                    guard let cursor = try queue.store.job(id: after) else {
                        throw APIError.badRequest("query parameter after=\(after) names no job (give the job_id of a listed job)")
                    }
                    afterSeq = cursor.seq
                }
                let jobs = try queue.store.jobs(matching: JobFilter(
                    status: status, batchID: batch, lane: session, afterSeq: afterSeq, limit: limit, newestFirst: batch == nil))
                return jobs.map(ResultDocument.json(for:))
            }
            return JSONResponse.array(documents)
        }

        router.get("/jobs/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            return JSONResponse.make(try await blocking { try Self.document(ofJob: id, in: queue) })
        }

        router.post("/jobs/{id}/cancel") { _, context -> Response in
            let id = try context.pathParameter("id")
            let outcome = try await blocking { () -> CancelOutcome in
                _ = try queue.requireJob(id: id)
                guard let outcome = try queue.cancel(.ids([id])).first else { throw AgentQError(.notFound, "no job with ID '\(id)'") }
                return outcome
            }
            switch outcome.effect {
            case .cancelled: return JSONResponse.make(CancelDocument.json(for: outcome))
            // Running: its worker stops it within 2 s; accepted, not done.
            case .cancelRequested: return JSONResponse.make(CancelDocument.json(for: outcome), status: .accepted)
            case .alreadyFinished:
                throw APIError.conflict(
                    "job '\(id)' is already \(outcome.status?.rawValue ?? "finished"); nothing to cancel", type: "already_finished")
            case .notFound: throw APIError.notFound("no job with ID '\(id)'")
            }
        }

        router.post("/jobs/{id}/retry") { _, context -> Response in
            let id = try context.pathParameter("id")
            let document = try await blocking { () -> String in
                _ = try queue.requireJob(id: id)
                guard let outcome = try queue.retry(ids: [id]).first else { throw AgentQError(.notFound, "no job with ID '\(id)'") }
                switch outcome.effect {
                case .requeued: break
                case .notRetryable:
                    throw APIError.conflict(
                        "job '\(id)' is \(outcome.status?.rawValue ?? "unknown"); only failed or cancelled jobs can be retried",
                        type: "not_retryable")
                case .notFound: throw APIError.notFound("no job with ID '\(id)'")
                }
                return try Self.document(ofJob: id, in: queue)
            }
            return JSONResponse.make(document)
        }
    }

    /// The job's document, as `agentq jobs get --json` prints it.
    /// - throws: ``AgentQ/AgentQError`` `.notFound` naming the ID (and when it was pruned).
    static func document(ofJob id: String, in queue: AgentQueue) throws -> String {
        JobDocument.json(for: try queue.requireJob(id: id), attempts: try queue.store.attempts(ofJob: id))
    }
}
