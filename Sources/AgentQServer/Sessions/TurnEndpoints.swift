import AgentQ
import Foundation
import Hummingbird
import JobQueue
import ServiceLifecycle

/// `POST /sessions/{id}/message` and `POST /sessions/{id}/message/stream`: a turn of a session.
///
/// The turn is a job on the session's lane, enqueued as `agentq sessions send` does (visible
/// in `jobs list`, cancellable by job ID from any process). This process's worker pool runs it
/// unless `--no-worker`; any `agentq worker` on the home may run it instead. Either way the
/// request waits without holding a thread (see ``TurnWatcher``).
///
/// **Blocking.** `{"message": "…"}` → 200 ``TurnReplyDocument``
/// `{response, tool_calls, usage, steps, job_id, session_id, status}` once the turn ended.
/// A turn that failed or was cancelled is still 200, with `status` `failed`/`cancelled`,
/// `response: null` and `error: {type, message}`: the request was carried out, and the
/// tokens spent and tools run are in the reply; the HTTP error statuses are kept for requests
/// that could not start a turn (400 an empty or missing message, 404 no such session, 409 a
/// session that ended or timed out). On a paused session the turn waits in the queue: 202
/// with `status: "queued"` and the `job_id` (it runs once the session is resumed; follow it
/// with `GET /sessions/{id}/messages` or the jobs API).
///
/// **Streamed.** The same body → 200 `text/event-stream` (events in ``TurnEventDocument``):
/// `text_delta` live as the model writes when this process runs the turn, `tool_call` and
/// `tool_result` as tools run, `retry` when a model call or attempt is retried (drop the text
/// since the last step), `paused` while the session is paused (the stream stays open), then
/// `done` or `error`; a `: ping` comment every `pingSeconds` of silence. When another process
/// runs the turn, the events come from what the turn stores, step by step: whole texts
/// instead of deltas. If the client disconnects, the turn goes on, unless the request had
/// `?cancel_on_disconnect=true`, then its job is cancelled (noticed at the next write, a ping
/// at the latest).
///
/// ```sh
/// curl -s localhost:2323/sessions/ses_x/message -d '{"message": "hello"}'
/// curl -N localhost:2323/sessions/ses_x/message/stream -d '{"message": "hello"}'
/// ```
struct TurnEndpoints: Sendable {
    let environment: ServerEnvironment
    let watcher: TurnWatcher

    init(environment: ServerEnvironment) {
        self.environment = environment
        watcher = TurnWatcher(
            queue: environment.queue, localWorkerID: environment.configuration.runsWorker ? environment.workerID : nil)
    }

    func register(on router: Router<BasicRequestContext>) {
        router.post("/sessions/{id}/message") { request, context -> Response in
            let id = try context.pathParameter("id")
            let text = try await message(of: request)
            let (wait, jobID) = try await start(text, sessionID: id, followsStore: false)
            defer { watcher.stop(jobID: jobID) }
            let reply: (HTTPResponse.Status, Job)? = await untilStopping(wait) {
                for await update in wait.updates {
                    switch update {
                    case .finished(let job): return (.ok, job)
                    case .paused(let job): return (.accepted, job)
                    case .vanished, .event, .attemptFailed, .tick: continue
                    }
                }
                return nil
            }
            guard let (status, job) = reply else { throw stopped(jobID: jobID) }
            return JSONResponse.make(TurnReplyDocument.json(for: job, sessionID: wait.sessionID), status: status)
        }

        router.post("/sessions/{id}/message/stream") { request, context -> Response in
            let id = try context.pathParameter("id")
            let cancelOnDisconnect = try request.queryBool("cancel_on_disconnect") ?? false
            let text = try await message(of: request)
            // Every refusal (404, 409, 400) is answered before the stream starts.
            let (wait, jobID) = try await start(text, sessionID: id, followsStore: true)
            let queue = environment.queue, watcher = self.watcher, ping = environment.configuration.pingSeconds
            let body = ResponseBody { writer in
                defer { watcher.stop(jobID: jobID) }
                let ticker = Task {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(ping))
                        wait.yield(.tick)
                    }
                }
                defer { ticker.cancel() }
                let stream = TurnEventStream(jobID: jobID, pingSeconds: ping)
                do {
                    let ended = try await untilStopping(wait) { try await stream.write(wait.updates, to: &writer) }
                    if !ended {
                        // Hummingbird cancels the request's task when its connection closes:
                        // the client went away. Otherwise the server is stopping.
                        guard !Task.isCancelled else { throw CancellationError() }
                        try await stream.writeStopping(to: &writer)
                    }
                    try await writer.finish(nil)
                } catch {
                    // The client went away. The turn is a job and goes on, unless asked otherwise.
                    if cancelOnDisconnect { _ = try? await blocking { try queue.cancel(.ids([jobID])) } }
                }
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: body)
        }
    }

    /// `message` (or wingman's `prompt`) of the body.
    private func message(of request: Request) async throws -> String {
        let body = try await RequestJSON.object(request, limit: environment.configuration.maxJSONBytes)
        guard let text = try body.string("message") ?? body.string("prompt") else {
            throw APIError.badRequest("\"message\" is required: the text of the turn")
        }
        return text
    }

    /// Enqueues the turn with its observer registered first, and starts watching its job.
    /// - throws: ``AgentQError`` `.notFound`, `.sessionClosed`, `.invalidInput` (empty message).
    private func start(_ text: String, sessionID: String, followsStore: Bool) async throws -> (TurnWait, String) {
        let queue = environment.queue, watcher = self.watcher
        return try await blocking {
            let manager = SessionManager(queue: queue)
            let session = try manager.session(exactID: sessionID)
            // Where the turn's messages will start: a turn run elsewhere is followed from there.
            let lastSeq = followsStore ? try queue.sessions.messages(sessionID: session.id, last: 1).last?.seq ?? 0 : 0
            let wait = watcher.makeWait(sessionID: session.id, followsStore: followsStore, afterSeq: lastSeq)
            let jobID = try manager.send(text, to: session.id, observing: wait.observer)
            watcher.watch(wait, jobID: jobID)
            return (wait, jobID)
        }
    }

    /// Runs `body`; when the request's task is cancelled, or the server has been stopping for
    /// its grace period, the wait's updates end, so `body` returns without the turn's end.
    ///
    /// A turn in flight when SIGTERM arrives usually finishes within the grace period (the
    /// worker stops only after the requests), and its client gets the answer; one that cannot
    /// (a paused session, no worker) is let go with `server_stopping` and stays a queued job.
    private func untilStopping<T>(_ wait: TurnWait, _ body: () async throws -> T) async rethrows -> T {
        let grace = environment.configuration.graceSeconds
        return try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler(operation: body, onGracefulShutdown: {
                Task {
                    try? await Task.sleep(for: .milliseconds(Int64(grace * 1000)))
                    wait.finish()
                }
            })
        } onCancel: {
            wait.finish()
        }
    }

    private func stopped(jobID: String) -> APIError {
        APIError(
            .serviceUnavailable, "server_stopping",
            "the server is stopping; the turn goes on as job \(jobID) (GET /sessions/{id}/messages shows it)")
    }
}
