import AgentQ
import AgentQTesting
import Foundation
import Testing

@Suite("Agent definitions")
struct AgentDefinitionTests {
    static func parse(_ text: String, source: String = "agents/slow.json") throws -> AgentDefinition {
        try AgentDefinition.parse(Data(text.utf8), source: source)
    }

    /// The message of the `.invalidAgent` error (`.invalidName` for a bad name) `text` must raise.
    static func problem(
        _ text: String, source: String = "agents/slow.json", code: AgentQError.Code = .invalidAgent
    ) -> String? {
        do {
            let agent = try parse(text, source: source)
            Issue.record("accepted: \(agent)")
            return nil
        } catch let error as AgentQError {
            #expect(error.code == code)
            return error.message
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("a complete definition")
    func good() throws {
        let agent = try Self.parse("""
            {"name": "slow", "provider": "echo", "model": "echo-large", "system_prompt": "Be brief.",
             "tools": ["bash", "read_file"], "max_steps": 4,
             "options": {"latency_ms": 250, "fail_first": 1, "fail_permanently": false}}
            """)
        #expect(agent.name == "slow")
        #expect(agent.provider == "echo")
        #expect(agent.model == "echo-large")
        #expect(agent.systemPrompt == "Be brief.")
        #expect(agent.tools == ["bash", "read_file"])
        #expect(agent.maxSteps == 4)
        #expect(agent.options == [
            "latency_ms": .number(250), "fail_first": .number(1), "fail_permanently": .bool(false),
        ])
    }

    @Test("defaults: model is the provider, no tools, ten steps, no options")
    func defaults() throws {
        let agent = try Self.parse(#"{"name":"mini","provider":"echo"}"#)
        #expect(agent == AgentDefinition(name: "mini", provider: "echo", model: "echo"))
        #expect(agent.maxSteps == 10)
        #expect(agent.tools.isEmpty)
        #expect(agent.systemPrompt == nil)
    }

    @Test("a definition survives its JSON text")
    func roundTrip() throws {
        let agent = try Self.parse(#"{"name":"rt","provider":"echo","system_prompt":"a \"quoted\" line\n","options":{"latency_ms":5}}"#)
        let again = try AgentDefinition.parse(Data(agent.jsonText().utf8), source: "db")
        #expect(again == agent)
        let pretty = try AgentDefinition.parse(Data(agent.jsonText(pretty: true).utf8), source: "db")
        #expect(pretty == agent)
    }

    @Test("missing provider names the file and the field")
    func missingProvider() throws {
        let message = try #require(Self.problem(#"{"name":"slow","model":"echo"}"#))
        #expect(message.hasPrefix("agents/slow.json: "))
        #expect(message.contains("'provider'"))
        #expect(message.contains("missing"))
    }

    @Test("missing name names the file and the field")
    func missingName() throws {
        let message = try #require(Self.problem(#"{"provider":"echo"}"#, source: "x.json"))
        #expect(message == "x.json: missing field 'name'")
    }

    @Test("an unknown field names the file and the field")
    func unknownField() throws {
        let message = try #require(Self.problem(#"{"name":"slow","provider":"echo","temprature":0.2}"#))
        #expect(message.hasPrefix("agents/slow.json: unknown field 'temprature'"))
        #expect(message.contains("system_prompt"))
    }

    @Test("an unknown provider names the file and the provider")
    func unknownProvider() throws {
        let message = try #require(Self.problem(#"{"name":"slow","provider":"gpt-9"}"#))
        #expect(message.hasPrefix("agents/slow.json: unknown provider 'gpt-9'"))
        #expect(message.contains("echo"))
    }

    @Test("an option of the wrong type names the file and the option")
    func badOptionType() throws {
        let latency = try #require(Self.problem(#"{"name":"slow","provider":"echo","options":{"latency_ms":"fast"}}"#))
        #expect(latency.hasPrefix("agents/slow.json: "))
        #expect(latency.contains("'latency_ms'"))
        let negative = try #require(Self.problem(#"{"name":"slow","provider":"echo","options":{"fail_first":-1}}"#))
        #expect(negative.contains("'fail_first'"))
        let fraction = try #require(Self.problem(#"{"name":"slow","provider":"echo","options":{"latency_ms":1.5}}"#))
        #expect(fraction.contains("'latency_ms'"))
        let flag = try #require(Self.problem(#"{"name":"slow","provider":"echo","options":{"fail_permanently":1}}"#))
        #expect(flag.hasPrefix("agents/slow.json: "))
        #expect(flag.contains("'fail_permanently'"))
        let unknown = try #require(Self.problem(#"{"name":"slow","provider":"echo","options":{"speed":1}}"#))
        #expect(unknown.contains("'speed'"))
    }

    @Test("a field of the wrong type names the file and the field")
    func badFieldType() throws {
        let steps = try #require(Self.problem(#"{"name":"slow","provider":"echo","max_steps":"ten"}"#))
        #expect(steps == "agents/slow.json: field 'max_steps' has the wrong type")
        let tools = try #require(Self.problem(#"{"name":"slow","provider":"echo","tools":"search"}"#))
        #expect(tools.hasPrefix("agents/slow.json: field 'tools"))
        let provider = try #require(Self.problem(#"{"name":"slow","provider":7}"#))
        #expect(provider == "agents/slow.json: field 'provider' has the wrong type")
    }

    @Test("bad names, limits and shapes")
    func otherProblems() throws {
        #expect(
            try #require(Self.problem(#"{"name":"has space","provider":"echo"}"#, code: .invalidName))
                == #"agents/slow.json: invalid agent name "has space" (letters, digits, . _ -; at most 128)"#)
        #expect(try #require(Self.problem(#"{"name":"","provider":"echo"}"#, code: .invalidName)).contains(#"name """#))
        #expect(try #require(Self.problem(#"{"name":"..","provider":"echo"}"#, code: .invalidName)).contains(#"name "..""#))
        #expect(try #require(Self.problem(#"{"name":"s","provider":"echo","max_steps":0}"#)).contains("max_steps"))
        #expect(try #require(Self.problem("{not json")) == "agents/slow.json: not valid JSON")
        #expect(try #require(Self.problem("[1,2]")) == "agents/slow.json: expected a JSON object")
    }

    @Test("the built-in echo agent exists in a new home")
    func builtIn() throws {
        let test = try TestQueue()
        defer { test.remove() }
        #expect(try test.queue.agents.agent(named: "echo") == AgentDefinition.echo)
        #expect(try test.queue.agents.allAgents().map(\.name) == ["echo"])
        let slow = AgentDefinition(name: "slow", provider: "echo", model: "echo", options: ["latency_ms": .number(10)])
        #expect(try test.queue.agents.save(slow) == false)
        #expect(try test.queue.agents.save(slow) == true)
        #expect(try test.queue.agents.agent(named: "slow") == slow)
        #expect(try test.queue.agents.remove(named: "slow"))
        #expect(try !test.queue.agents.remove(named: "slow"))
    }
}

@Suite("Agent definitions: tools and sandbox")
struct AgentDefinitionToolTests {
    @Test("an unknown tool or sandbox value is rejected, naming the file and the value")
    func unknownToolAndSandbox() {
        #expect(throws: AgentQError.self) {
            try AgentDefinition.parse(Data(#"{"name":"a","provider":"echo","tools":["search"]}"#.utf8), source: "a.json")
        }
        do {
            _ = try AgentDefinition.parse(Data(#"{"name":"a","provider":"echo","tools":["search"]}"#.utf8), source: "a.json")
        } catch let error as AgentQError {
            #expect(error.message.contains("a.json") && error.message.contains("'search'"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: AgentQError.self) {
            try AgentDefinition.parse(Data(#"{"name":"a","provider":"echo","sandbox":"docker"}"#.utf8), source: "a.json")
        }
    }

    @Test("sandbox none and network map to the bash tool's policy")
    func sandboxPolicy() throws {
        let open = try AgentDefinition.parse(
            Data(#"{"name":"a","provider":"echo","tools":["bash"],"sandbox":"none"}"#.utf8), source: "a.json")
        #expect(open.sandboxPolicy == .none)
        let networked = try AgentDefinition.parse(
            Data(#"{"name":"b","provider":"echo","tools":["bash"],"network":true}"#.utf8), source: "b.json")
        #expect(networked.sandboxPolicy == .bubblewrap(allowNetwork: true))
        let plain = try AgentDefinition.parse(Data(#"{"name":"c","provider":"echo"}"#.utf8), source: "c.json")
        #expect(plain.sandboxPolicy == .bubblewrap(allowNetwork: false))
    }
}
