import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Echo provider")
struct EchoProviderTests {
    static func agent(_ options: [String: JSONValue] = [:], systemPrompt: String? = nil) -> AgentDefinition {
        AgentDefinition(name: "test", provider: "echo", model: "echo", systemPrompt: systemPrompt, options: options)
    }

    static func request(
        _ input: String, options: [String: JSONValue] = [:], system: String? = nil, attempt: Int = 1
    ) -> ModelRequest {
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: .system, content: system)) }
        messages.append(ChatMessage(role: .user, content: input))
        return ModelRequest(agent: agent(options, systemPrompt: system), messages: messages, attempt: attempt)
    }

    @Test("answers echo: <input> and counts words as tokens")
    func echoes() throws {
        let response = try EchoProvider().respond(
            to: Self.request("the quick  brown\tfox\njumps"), token: CancellationToken())
        #expect(response.text == "echo: the quick  brown\tfox\njumps")
        #expect(response.usage.inputTokens == 5)
        #expect(response.usage.outputTokens == 6)
        #expect(response.finishReason == "stop")
    }

    @Test("input tokens count every message; the answer echoes the last user message")
    func countsAllMessages() throws {
        let request = ModelRequest(
            agent: Self.agent(),
            messages: [
                ChatMessage(role: .system, content: "be brief"),
                ChatMessage(role: .user, content: "first one"),
                ChatMessage(role: .assistant, content: "ok"),
                ChatMessage(role: .user, content: "  last   words here "),
            ],
            attempt: 1)
        let response = try EchoProvider().respond(to: request, token: CancellationToken())
        #expect(response.text == "echo:   last   words here ")
        #expect(response.usage.inputTokens == 2 + 2 + 1 + 3)
        #expect(response.usage.outputTokens == 4)
    }

    @Test("non-ASCII input is echoed untouched")
    func unicode() throws {
        let response = try EchoProvider().respond(to: Self.request("héllo 世界 🚀"), token: CancellationToken())
        #expect(response.text == "echo: héllo 世界 🚀")
        #expect(response.usage.inputTokens == 3)
        #expect(response.usage.outputTokens == 4)
    }

    @Test("fail_first: attempts up to N fail with a retryable error, later ones succeed")
    func failFirst() throws {
        let options: [String: JSONValue] = ["fail_first": .number(2)]
        for attempt in 1...2 {
            do {
                _ = try EchoProvider().respond(
                    to: Self.request("x", options: options, attempt: attempt), token: CancellationToken())
                Issue.record("attempt \(attempt) should have failed")
            } catch let error as ProviderError {
                #expect(error.retryable)
                #expect(error.type == "provider_unavailable")
                #expect(error.message.contains("attempt \(attempt)"))
            }
        }
        let third = try EchoProvider().respond(
            to: Self.request("x", options: options, attempt: 3), token: CancellationToken())
        #expect(third.text == "echo: x")
    }

    @Test("fail_permanently: every call fails with a non-retryable error")
    func failPermanently() throws {
        for attempt in [1, 5] {
            do {
                _ = try EchoProvider().respond(
                    to: Self.request("x", options: ["fail_permanently": .bool(true)], attempt: attempt),
                    token: CancellationToken())
                Issue.record("attempt \(attempt) should have failed")
            } catch let error as ProviderError {
                #expect(!error.retryable)
                #expect(error.type == "invalid_request")
            }
        }
        let fine = try EchoProvider().respond(
            to: Self.request("x", options: ["fail_permanently": .bool(false)]), token: CancellationToken())
        #expect(fine.text == "echo: x")
    }

    @Test("latency_ms delays the answer")
    func latency() throws {
        let start = Date()
        let response = try EchoProvider().respond(
            to: Self.request("slow", options: ["latency_ms": .number(120)]), token: CancellationToken())
        #expect(Date().timeIntervalSince(start) >= 0.1)
        #expect(response.text == "echo: slow")
    }

    @Test("a fired token cuts latency_ms short with JobCancelled")
    func latencyCancelled() {
        let token = CancellationToken()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { token.cancel() }
        let start = Date()
        #expect(throws: JobCancelled.self) {
            try EchoProvider().respond(to: Self.request("x", options: ["latency_ms": .number(60_000)]), token: token)
        }
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test("an already fired token stops the call even without latency")
    func alreadyCancelled() {
        let token = CancellationToken()
        token.cancel()
        #expect(throws: JobCancelled.self) {
            try EchoProvider().respond(to: Self.request("x"), token: token)
        }
    }

    @Test("TurnRunner turns the echo answer into the job output, and provider errors into JobFailure")
    func turnRunner() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "broken", provider: "echo", model: "echo", options: ["fail_permanently": .bool(true)]))
        let runner = TurnRunner(
            agents: test.queue.agents, sessions: test.queue.sessions, workspaces: test.home.workspacesDirectory)
        let job = Job(seq: 1, id: "job_x", handler: "echo", input: "hi there", runAt: .now, maxAttempts: 3, attempts: 1,
                      createdAt: .now)
        let output = try runner.run(job, token: CancellationToken())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(object["response"] as? String == "echo: hi there")
        #expect(object["steps"] as? Int == 1)
        let usage = try #require(object["usage"] as? [String: Any])
        #expect(usage["input_tokens"] as? Int == 2)
        #expect(usage["output_tokens"] as? Int == 3)
        #expect((object["tool_calls"] as? [Any])?.isEmpty == true)

        var broken = job
        broken.handler = "broken"
        do {
            _ = try runner.run(broken, token: CancellationToken())
            Issue.record("the broken agent should fail")
        } catch let failure as JobFailure {
            #expect(!failure.retryable)
            #expect(failure.error.type == "invalid_request")
        }
        var unknown = job
        unknown.handler = "ghost"
        do {
            _ = try runner.run(unknown, token: CancellationToken())
            Issue.record("an unknown agent should fail")
        } catch let failure as JobFailure {
            #expect(!failure.retryable)
            #expect(failure.error.type == "unknown_agent")
        }
    }
}
