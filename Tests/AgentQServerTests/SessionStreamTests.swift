import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// `POST /sessions/{id}/message/stream`: the turn as server-sent events, read one by one as
    /// they arrive, from the serve process's own worker and from a separate `agentq worker`.
    @Suite struct SessionStreamTests {
        static var writer: [String: Any] { [
            "name": "writer", "provider": "echo", "tools": ["write_file"],
            "options": ["tool_calls": [["name": "write_file", "arguments": ["path": "notes.txt", "content": "hello"]]]],
        ] }

        /// tool_call, tool_result, the answer's text, then done, in that order, for a turn with a tool.
        static func expectToolTurn(_ events: [ServerSentEvent], jobID: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
            let names = events.map(\.event)
            #expect(names == ["tool_call", "tool_result", "text_delta", "done"], "events: \(events)", sourceLocation: sourceLocation)
            guard names.count == 4 else { return }
            #expect(events[0].object?["name"] as? String == "write_file", sourceLocation: sourceLocation)
            #expect(events[0].object?["type"] as? String == "tool_call", sourceLocation: sourceLocation)
            #expect(events[1].object?["id"] as? String == events[0].object?["id"] as? String, sourceLocation: sourceLocation)
            #expect(events[1].object?["is_error"] as? Bool == false, "\(events[1].data)", sourceLocation: sourceLocation)
            #expect((events[2].object?["text"] as? String)?.hasPrefix("echo: write it") == true, sourceLocation: sourceLocation)
            let done = events[3].object
            #expect(done?["response"] as? String == events[2].object?["text"] as? String, sourceLocation: sourceLocation)
            #expect(done?["steps"] as? Int == 2, sourceLocation: sourceLocation)
            #expect((done?["tool_calls"] as? [Any])?.count == 1, sourceLocation: sourceLocation)
            #expect(done?["job_id"] as? String != nil, sourceLocation: sourceLocation)
        }

        @Test func toolEventsThenTextThenDone() async throws {
            let test = try SessionTestHome()
            try test.addAgent(Self.writer)
            let id = try await test.createSession(["agent": "writer"])
            let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "write it"])
            #expect(status == 200)
            let collected = try await SessionTestHome.collect(events)
            Self.expectToolTurn(collected)
            let workdir = try #require(try await test.client.send("GET", "/sessions/\(id)").object?["workdir"] as? String)
            #expect((try? String(contentsOfFile: workdir + "/notes.txt", encoding: .utf8)) == "hello")
        }

        @Test func aFailingTurnEndsWithAnErrorEvent() async throws {
            let test = try SessionTestHome()
            try test.addAgent(["name": "broken", "provider": "echo", "options": ["fail_permanently": true]])
            let id = try await test.createSession(["agent": "broken"])
            let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "hi"])
            #expect(status == 200)
            let collected = try await SessionTestHome.collect(events)
            #expect(collected.map(\.event) == ["error"], "\(collected)")
            #expect(collected.last?.object?["type"] as? String == "invalid_request")
            #expect((collected.last?.object?["message"] as? String)?.contains("fail_permanently") == true)
            #expect(collected.last?.object?["job_id"] as? String != nil)
        }

        @Test func textDeltasArriveWhileTheModelIsStillWriting() async throws {
            let llm = try ScriptedLLMServer()
            let test = try SessionTestHome(environment: ["FAKE_KEY": "sk-fake"])
            try test.addAgent([
                "name": "live", "provider": "openai", "model": "gpt-fake", "base_url": llm.openAIBaseURL,
                "api_key_env": "FAKE_KEY", "stream": true, "stream_idle_timeout": 60,
            ])
            // The role chunk and the first word, then the model stalls before the rest: long enough
            // for a busy machine to ask the session's status in between.
            try llm.script("openai", [["kind": "stall", "seconds": 12, "after": 2, "text": "alpha beta gamma delta"]])
            let id = try await test.createSession(["agent": "live"])
            let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "go"])
            #expect(status == 200)
            var collected: [ServerSentEvent] = []
            var statusAtFirstDelta: String?
            for try await event in events where event.event != ":" {
                if event.event == "text_delta" && statusAtFirstDelta == nil {
                    statusAtFirstDelta = try await test.client.send("GET", "/sessions/\(id)").object?["status"] as? String
                }
                collected.append(event)
                if event.event == "done" || event.event == "error" { break }
            }
            #expect(statusAtFirstDelta == "active", "the first text_delta came after the turn ended: \(collected)")
            let deltas = collected.filter { $0.event == "text_delta" }.compactMap { $0.object?["text"] as? String }
            #expect(deltas.count >= 2, "one delta per piece expected: \(collected)")
            #expect(deltas.joined() == "alpha beta gamma delta")
            #expect(collected.last?.event == "done")
            #expect(collected.last?.object?["response"] as? String == "alpha beta gamma delta")
        }

        @Test func aRetriedModelCallSaysSoAndItsTextIsReplaced() async throws {
            let llm = try ScriptedLLMServer()
            let test = try SessionTestHome(environment: ["FAKE_KEY": "sk-fake"])
            try test.addAgent([
                "name": "flaky", "provider": "openai", "model": "gpt-fake", "base_url": llm.openAIBaseURL,
                "api_key_env": "FAKE_KEY", "stream": true,
            ])
            try llm.script("openai", [
                ["kind": "drop", "after": 3, "text": "first try words"], ["kind": "ok", "text": "second try"],
            ])
            let id = try await test.createSession(["agent": "flaky"])
            let (_, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "go"])
            let collected = try await SessionTestHome.collect(events)
            let names = collected.map(\.event)
            let retry = try #require(names.firstIndex(of: "retry"), "no retry event: \(collected)")
            #expect(names[..<retry].contains("text_delta"), "the dropped call streamed nothing first: \(collected)")
            let after = collected[(retry + 1)...].filter { $0.event == "text_delta" }.compactMap { $0.object?["text"] as? String }
            #expect(after.joined() == "second try", "\(collected)")
            #expect(collected.last?.object?["response"] as? String == "second try")
        }

        @Test func aTurnRunByAnotherProcessStillStreamsItsToolEventsAndDone() async throws {
            let test = try SessionTestHome(arguments: ["--no-worker"])
            try test.addAgent(Self.writer)
            let worker = try AgentQProcess.start(["worker"], home: test.home.path)
            defer {
                worker.signal(SIGTERM)
                _ = worker.wait()
            }
            let id = try await test.createSession(["agent": "writer"])
            let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream", json: ["message": "write it"])
            #expect(status == 200)
            Self.expectToolTurn(try await SessionTestHome.collect(events))
            // And the blocking endpoint waits for the other process too.
            let reply = try await test.client.send("POST", "/sessions/\(id)/message", json: ["message": "again"])
            #expect(reply.object?["status"] as? String == "succeeded", "\(reply.text)")
        }

        @Test func disconnectingCancelsTheTurnOnlyWhenAsked() async throws {
            let test = try SessionTestHome(environment: ["AGENTQ_SSE_PING_SECONDS": "0.2"])
            try test.addAgent(["name": "slow", "provider": "echo", "options": ["latency_ms": 6000]])
            var jobs: [Bool: String] = [:]
            for cancelOnDisconnect in [true, false] {
                let id = try await test.createSession(["agent": "slow"])
                let query = cancelOnDisconnect ? "?cancel_on_disconnect=true" : ""
                let (status, events) = try await test.client.events("POST", "/sessions/\(id)/message/stream\(query)", json: ["message": "wait"])
                #expect(status == 200)
                // The first ping proves the stream is open; then the client goes away (cancelling
                // the reading task closes the connection).
                let (seen, sink) = AsyncStream.makeStream(of: String.self)
                let reader = Task {
                    for try await event in events { sink.yield(event.event) }
                }
                var iterator = seen.makeAsyncIterator()
                #expect(await iterator.next() == ":")
                reader.cancel()
                let messages = try #require(try await test.client.send("GET", "/sessions/\(id)/messages").array)
                jobs[cancelOnDisconnect] = try #require(messages.first?["job_id"] as? String, "no turn started: \(messages)")
            }
            let cancelled = try #require(jobs[true]), kept = try #require(jobs[false])
            let cancelledInTime = try await eventually(within: 30) { try test.job(cancelled)["status"] as? String == "cancelled" }
            #expect(cancelledInTime, "cancel_on_disconnect: \((try? test.job(cancelled)) ?? [:])")
            _ = try await eventually(within: 30) { try test.job(kept)["status"] as? String != "running" }
            let keptJob = try test.job(kept)
            #expect(keptJob["status"] as? String == "succeeded", "a plain disconnect stopped the turn: \(keptJob)")
        }
    }
}
