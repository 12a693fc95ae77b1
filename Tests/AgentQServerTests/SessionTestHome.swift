import AgentQTesting
import Foundation
import Testing

/// A temporary home served by `agentq serve`, with a client, for the session endpoint tests.
final class SessionTestHome: @unchecked Sendable {
    let home: TemporaryDirectory
    let files: TemporaryDirectory
    let server: ServerProcess
    let client: APIClient

    init(arguments: [String] = [], environment: [String: String] = [:]) throws {
        home = try TemporaryDirectory(prefix: "agentq-serve-sessions")
        files = try TemporaryDirectory(prefix: "agentq-serve-files")
        server = try ServerProcess.start(home: home.path, arguments: arguments, environment: environment)
        client = APIClient(baseURL: server.baseURL)
    }

    deinit {
        server.stop()
        home.remove()
        files.remove()
    }

    /// `agentq agents add` with this definition (JSON object).
    func addAgent(_ definition: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let data = try JSONSerialization.data(withJSONObject: definition)
        let file = try files.write(String(decoding: data, as: UTF8.self), to: "agent-\(UUID().uuidString.prefix(8)).json")
        let output = try AgentQProcess.run(["agents", "add", file], home: home.path)
        #expect(output.exitCode == 0, "agents add: \(output.stderr)", sourceLocation: sourceLocation)
    }

    /// `POST /sessions` that must answer 201; the session's ID.
    func createSession(_ fields: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let response = try await client.send("POST", "/sessions", json: fields)
        #expect(response.status == 201, "POST /sessions \(fields): \(response.status) \(response.text)", sourceLocation: sourceLocation)
        return try #require(response.object?["session_id"] as? String, "no session_id in \(response.text)", sourceLocation: sourceLocation)
    }

    /// `agentq jobs get ID --json`: the job as the queue holds it.
    func job(_ id: String) throws -> [String: Any] {
        let output = try AgentQProcess.run(["jobs", "get", id, "--json"], home: home.path)
        return (try? JSONSerialization.jsonObject(with: Data(output.stdout.utf8))) as? [String: Any] ?? [:]
    }

    /// Reads a stream to its end (or `limit` events); comments (pings) are left out.
    static func collect(
        _ events: AsyncThrowingStream<ServerSentEvent, any Error>, limit: Int = 1000
    ) async throws -> [ServerSentEvent] {
        var collected: [ServerSentEvent] = []
        for try await event in events where event.event != ":" {
            collected.append(event)
            if collected.count >= limit || event.event == "done" || event.event == "error" { break }
        }
        return collected
    }
}
