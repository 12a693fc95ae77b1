import AgentQ
import Foundation
import Hummingbird
import JobQueue

/// The session endpoints, in wingman's shape (`agent_id` is accepted for `agent`, `prompt` for
/// `message`); a session is the JSON document `agentq sessions … --json` prints.
///
/// - `POST /sessions {agent, title?, session_id?, work_dir?}` → 201 the session; an unknown
///   agent is 404 `unknown_agent`, a bad name 400, a taken ID 409. `work_dir` must be an
///   existing absolute directory outside the agentq home (the server creates none); without
///   it the session gets `<home>/workspaces/<id>`, removed when it ends.
/// - `GET /sessions?agent=&status=&limit=&after=` → an array, newest created first; `limit`
///   1…1000 (default 100); the next page is `after=<the last session_id of this one>`.
/// - `GET /sessions/{id}`, `PUT /sessions/{id} {title}`, `DELETE /sessions/{id}` (ends it:
///   its turns are cancelled, the workspace agentq made goes, the history stays; 409 when it
///   already ended or timed out), `POST /sessions/{id}/pause|resume|cancel` (409 on an ended
///   session), `GET /sessions/{id}/messages` (the transcript, tool calls and results included).
/// - `POST /sessions/{id}/message {message}` and `POST /sessions/{id}/message/stream {message}`:
///   a turn, see ``TurnEndpoints``.
///
/// IDs are matched exactly (the CLI's prefixes are for people typing): `/sessions/ses_ab`
/// never acts on `ses_abc…`.
///
/// ```sh
/// curl -s localhost:2323/sessions -d '{"agent": "echo", "title": "demo"}'
/// curl -s 'localhost:2323/sessions?status=idle&limit=50'
/// ```
struct SessionRoutes: Sendable {
    let environment: ServerEnvironment

    func register(on router: Router<BasicRequestContext>) {
        let queue = environment.queue
        let limit = environment.configuration.maxJSONBytes
        let manager = SessionManager(queue: queue)

        router.post("/sessions") { request, _ -> Response in
            let body = try await RequestJSON.object(request, limit: limit)
            guard let agent = try body.string("agent") ?? body.string("agent_id") else {
                throw APIError.badRequest("\"agent\" is required: the name of the agent the session talks to")
            }
            let title = try body.string("title")
            let sessionID = try body.string("session_id")
            let workDir = try body.string("work_dir") ?? body.string("workdir")
            let session = try await blocking {
                let directory = try workDir.map { try ClientWorkDir.check($0, home: queue.home) }
                return try manager.create(agent: agent, sessionID: sessionID, workdir: directory, title: title)
            }
            return JSONResponse.make(SessionDocument.json(for: session), status: .created)
        }

        router.get("/sessions") { request, _ -> Response in
            var page = SessionPage(
                agent: request.queryString("agent") ?? request.queryString("agent_id"), after: request.queryString("after"),
                limit: try request.queryInt("limit", in: 1...SessionPage.maximumLimit) ?? SessionPage.defaultLimit)
            if let status = request.queryString("status") {
                guard let parsed = SessionStatus(rawValue: status) else {
                    let known = SessionStatus.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.badRequest("query parameter status=\(status) must be one of: \(known)")
                }
                page.status = parsed
            }
            let query = page
            let sessions = try await blocking {
                manager.expireIdleSessions()
                return try queue.sessions.sessions(page: query)
            }
            return JSONResponse.array(sessions.map { SessionDocument.json(for: $0) })
        }

        router.get("/sessions/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            let session = try await blocking { try manager.session(exactID: id) }
            return JSONResponse.make(SessionDocument.json(for: session))
        }

        router.put("/sessions/{id}") { request, context -> Response in
            let id = try context.pathParameter("id")
            let body = try await RequestJSON.object(request, limit: limit)
            guard body.fields["title"] != nil else { throw APIError.badRequest("\"title\" is required (null clears it)") }
            let title = try body.string("title")
            let session = try await blocking {
                try manager.setTitle(title, sessionID: try manager.session(exactID: id).id)
            }
            return JSONResponse.make(SessionDocument.json(for: session))
        }

        router.delete("/sessions/{id}") { _, context -> Response in
            let id = try context.pathParameter("id")
            let session = try await blocking { try manager.end(try manager.session(exactID: id).id) }
            return JSONResponse.make(SessionDocument.json(for: session))
        }

        router.post("/sessions/{id}/pause") { _, context -> Response in
            let id = try context.pathParameter("id")
            let session = try await blocking { try manager.pause(try manager.session(exactID: id).id) }
            return JSONResponse.make(SessionDocument.json(for: session))
        }

        router.post("/sessions/{id}/resume") { _, context -> Response in
            let id = try context.pathParameter("id")
            let session = try await blocking { try manager.resume(try manager.session(exactID: id).id) }
            return JSONResponse.make(SessionDocument.json(for: session))
        }

        router.post("/sessions/{id}/cancel") { _, context -> Response in
            let id = try context.pathParameter("id")
            // The session with `cancelled`: each of its turns the cancel reached, and how.
            let (session, outcomes) = try await blocking {
                let outcomes = try manager.cancel(try manager.session(exactID: id).id)
                return (try manager.session(exactID: id), outcomes)
            }
            let cancelled = outcomes.filter { $0.effect == .cancelled || $0.effect == .cancelRequested }.map { outcome in
                var json = JSONText()
                json.object { $0.field("job_id", outcome.id); $0.field("effect", outcome.effect.rawValue) }
                return json.text
            }
            return JSONResponse.make(SessionDocument.json(
                for: session, extra: [("cancelled", "[" + cancelled.joined(separator: ",") + "]")]))
        }

        router.get("/sessions/{id}/messages") { _, context -> Response in
            let id = try context.pathParameter("id")
            let messages = try await blocking {
                try queue.sessions.messages(sessionID: try manager.session(exactID: id).id, last: nil)
            }
            return JSONResponse.array(messages.map { SessionDocument.json(for: $0) })
        }

        TurnEndpoints(environment: environment).register(on: router)
    }
}
