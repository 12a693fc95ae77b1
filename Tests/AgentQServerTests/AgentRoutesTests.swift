import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// The agent endpoints, over real HTTP against the built binary.
    @Suite struct AgentRoutesTests {
        @Test func addReplaceShowListAndRemove() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-agents")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            let initial = try #require(try await client.send("GET", "/agents").array)
            #expect(initial.map { $0["name"] as? String } == ["echo"])

            var definition: [String: Any] = ["name": "writer", "provider": "echo", "model": "echo", "system_prompt": "Be brief."]
            let added = try await client.send("POST", "/agents", json: definition)
            #expect(added.status == 201, "\(added.text)")
            #expect(added.object?["name"] as? String == "writer")
            definition["max_steps"] = 3
            let replaced = try await client.send("POST", "/agents", json: definition)
            #expect(replaced.status == 200)
            let shown = try await client.send("GET", "/agents/writer")
            #expect(shown.status == 200)
            #expect(shown.object?["max_steps"] as? Int == 3)
            // The same document `agentq agents show --json` prints.
            let cli = try AgentQProcess.run(["agents", "show", "writer", "--json"], home: home.path)
            #expect(cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == shown.text)
            #expect(try await client.send("GET", "/agents").array?.count == 2)

            let removed = try await client.send("DELETE", "/agents/writer")
            #expect(removed.status == 204)
            let removedAgain = try await client.send("DELETE", "/agents/writer")
            #expect(removedAgain.status == 404)
            #expect(removedAgain.text.contains("writer"))
            let missing = try await client.send("GET", "/agents/writer")
            #expect(missing.status == 404)
        }

        @Test func anInvalidDefinitionIs400NamingTheProblem() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-agents")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            let cases: [([String: Any], String)] = [
                (["name": "x", "provider": "nosuch", "model": "m"], "nosuch"),
                (["name": "x", "model": "m"], "provider"),
                (["name": "x", "provider": "echo", "model": "m", "colour": "red"], "colour"),
                (["name": "../x", "provider": "echo", "model": "m"], "name"),
                (["name": "x", "provider": "echo", "model": "m", "max_steps": 0], "max_steps"),
            ]
            for (definition, named) in cases {
                let response = try await client.send("POST", "/agents", json: definition)
                #expect(response.status == 400, "\(definition): \(response.status)")
                #expect(response.text.contains(named), "\(definition): \(response.text)")
            }
            let notJSON = try await client.send("POST", "/agents", body: Data("{name".utf8), contentType: "application/json")
            #expect(notJSON.status == 400)
            #expect(try await client.send("GET", "/agents").array?.count == 1)
        }
    }
}
