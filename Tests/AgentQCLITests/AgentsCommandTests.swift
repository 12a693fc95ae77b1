import AgentQTesting
import Foundation
import Testing

/// `agentq agents add|list|show|rm`.
@Suite struct AgentsCommandTests {
    func agentNames(_ cli: CLIHome) throws -> [String] {
        try cli.jsonArray(["agents", "list", "--json"]).compactMap { $0["name"] as? String }.sorted()
    }

    @Test func theBuiltInEchoAgentIsListed() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let list = try cli.run(["agents", "list"])
        #expect(list.exitCode == 0, "stderr: \(list.stderr)")
        let lines = list.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("NAME") == true, "stdout: \(list.stdout)")
        #expect(lines.contains { $0.split(separator: " ", omittingEmptySubsequences: true).first == "echo" }, "stdout: \(list.stdout)")

        let agents = try cli.jsonArray(["agents", "list", "--json"])
        let echo = try #require(agents.first { $0["name"] as? String == "echo" })
        #expect(echo["provider"] as? String == "echo")
        #expect(echo["model"] as? String == "echo")
    }

    @Test func addReplaceShowAndRemove() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            #"{"name": "x", "provider": "echo", "model": "echo", "system_prompt": "Be brief.", "options": {"latency_ms": 5}}"#,
            to: "x.json")

        let add = try cli.run(["agents", "add", file])
        #expect(add.exitCode == 0, "stderr: \(add.stderr)")
        #expect(add.stdout.contains("added agent 'x' (echo/echo)"), "stdout: \(add.stdout)")

        let again = try cli.run(["agents", "add", file])
        #expect(again.exitCode == 0, "stderr: \(again.stderr)")
        #expect(again.stdout.contains("replaced agent 'x' (echo/echo)"), "stdout: \(again.stdout)")
        #expect(try agentNames(cli) == ["echo", "x"])

        let show = try cli.run(["agents", "show", "x", "--json"])
        #expect(show.exitCode == 0, "stderr: \(show.stderr)")
        #expect(show.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "compact JSON: \(show.stdout)")
        let definition = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        #expect(definition["name"] as? String == "x")
        #expect(definition["provider"] as? String == "echo")
        #expect(definition["model"] as? String == "echo")
        #expect(definition["system_prompt"] as? String == "Be brief.")
        #expect((definition["options"] as? [String: Any])?["latency_ms"] as? Int == 5)

        let pretty = try cli.run(["agents", "show", "x"])
        #expect(pretty.exitCode == 0)
        #expect(pretty.stdout.contains("\"name\" : \"x\"") || pretty.stdout.contains("\"name\": \"x\""), "stdout: \(pretty.stdout)")

        // A submitted job can use it.
        let (batchID, _) = try cli.submit(try cli.write(#"{"input": "hi", "agent": "x"}"# + "\n", to: "use.jsonl"))
        #expect(try cli.run(["worker", "--drain"]).exitCode == 0)
        #expect(try cli.jobs(batch: batchID).first?["response"] as? String == "echo: hi")

        let remove = try cli.run(["agents", "rm", "x"])
        #expect(remove.exitCode == 0, "stderr: \(remove.stderr)")
        #expect(remove.stdout.contains("removed agent 'x'"), "stdout: \(remove.stdout)")
        #expect(try agentNames(cli) == ["echo"])

        let gone = try cli.run(["agents", "show", "x"])
        #expect(gone.exitCode != 0)
        #expect(gone.stderr.contains("no agent named 'x'"), "stderr: \(gone.stderr)")
    }

    @Test func removingAnUnknownAgentFails() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["agents", "rm", "nope"])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains("no agent named 'nope'"), "stderr: \(output.stderr)")
    }

    @Test(arguments: [
        (#"{"name": "bad", "provider": "openai-nope", "model": "m"}"#, "provider 'openai-nope'"),
        (#"{"name": "bad", "provider": "echo", "model": "echo", "colour": "red"}"#, "field 'colour'"),
        (#"{"name": "bad", "provider": "echo", "model": "echo""#, "JSON"),
        (#"{"provider": "echo", "model": "echo"}"#, "'name'"),
        (#"{"name": "bad", "provider": "echo", "max_steps": "ten"}"#, "'max_steps'"),
        (#"{"name": "bad", "provider": "echo", "options": {"speed": 3}}"#, "'speed'"),
        (#"{"name": "bad", "provider": "echo", "options": {"latency_ms": -1}}"#, "'latency_ms'"),
    ])
    func aBadDefinitionIsRejectedNamingTheFileAndField(definition: String, field: String) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(definition, to: "bad.json")
        let output = try cli.run(["agents", "add", file])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains(file), "stderr: \(output.stderr)")
        #expect(output.stderr.contains(field), "stderr: \(output.stderr)")
        #expect(!output.stdout.contains("added"))
        #expect(try agentNames(cli) == ["echo"])
    }

    @Test func oneBadFileSavesNoneOfTheOthers() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let good = try cli.write(#"{"name": "good", "provider": "echo", "model": "echo"}"#, to: "good.json")
        let bad = try cli.write(#"{"name": "worse", "provider": "nowhere"}"#, to: "worse.json")
        let output = try cli.run(["agents", "add", good, bad])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains(bad), "stderr: \(output.stderr)")
        #expect(try agentNames(cli) == ["echo"])

        let missing = try cli.run(["agents", "add", cli.files + "/absent.json"])
        #expect(missing.exitCode != 0)
        #expect(missing.stderr.contains("absent.json"), "stderr: \(missing.stderr)")
    }

    @Test func theRepositorysExampleAgentsAreValid() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let agents = packageRoot().appendingPathComponent("jobs/agents")
        let output = try cli.run(["agents", "add", agents.appendingPathComponent("slow.json").path,
                                  agents.appendingPathComponent("flaky.json").path])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(try agentNames(cli) == ["echo", "flaky", "slow"])
    }
}
