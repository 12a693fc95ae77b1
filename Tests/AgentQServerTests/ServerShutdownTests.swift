import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// SIGTERM to `agentq serve`: no new requests, in-flight ones finish, exit 0.
    @Suite struct ServerShutdownTests {
        @Test func aTurnInFlightWhenSIGTERMArrivesFinishesAndTheServerExitsZero() async throws {
            let test = try SessionTestHome()
            try test.addAgent(["name": "slow", "provider": "echo", "model": "echo", "options": ["latency_ms": 2000]])
            let id = try await test.createSession(["agent": "slow"])
            let client = test.client
            let turn = Task { try await client.send("POST", "/sessions/\(id)/message", json: ["message": "finish me"]) }
            // The turn is running once its job is claimed: then stop the server.
            #expect(await eventually(within: 20) {
                (try? AgentQProcess.run(["jobs", "list", "--status", "running", "--json"], home: test.home.path))?.stdout.contains("job_") == true
            })
            test.server.process.signal(SIGTERM)
            let response = try await turn.value
            #expect(response.status == 200, "\(response.text)")
            #expect(response.object?["response"] as? String == "echo: finish me")
            let output = test.server.process.wait()
            #expect(output.exitCode == 0, "serve exited \(output.exitCode): \(output.stderr)")
        }

        @Test func aStreamWaitingOnAPausedSessionIsToldTheServerStopsAndTheTurnStaysQueued() async throws {
            let test = try SessionTestHome(arguments: ["--grace", "1"])
            let id = try await test.createSession(["agent": "echo"])
            #expect(try await test.client.send("POST", "/sessions/\(id)/pause").status == 200)
            let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "later"])
            #expect(status == 200)
            let started = Date()
            test.server.process.signal(SIGTERM)
            let collected = try await SessionTestHome.collect(events)
            #expect(collected.last?.event == "error", "\(collected.map(\.event))")
            #expect(collected.last?.object?["type"] as? String == "server_stopping", "\(collected.last?.data ?? "")")
            let output = test.server.process.wait()
            #expect(output.exitCode == 0, "serve exited \(output.exitCode): \(output.stderr)")
            #expect(Date().timeIntervalSince(started) < 15)
            // The turn is a job: it waits in the queue for the session's resume, whoever runs it.
            let queued = try AgentQProcess.run(["jobs", "list", "--status", "queued", "--json"], home: test.home.path)
            #expect(queued.stdout.contains(id), "\(queued.stdout)")
        }
    }
}
