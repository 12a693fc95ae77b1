import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// The session library API (`Session`, `SessionManager`) and the step-level durability of `TurnRunner`.
@Suite("Sessions as a library")
struct SessionLibraryTests {
    // MARK: - Helpers

    static func bashCall(_ command: String) -> JSONValue {
        .object(["name": .string("bash"), "arguments": .object(["command": .string(command)])])
    }

    static func workspace(_ test: TestQueue, _ sessionID: String) -> URL {
        test.home.workspacesDirectory.appendingPathComponent(sessionID, isDirectory: true)
    }

    static func contents(_ url: URL) -> String? {
        (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// A short name for each event, to compare sequences.
    static func kind(_ event: TurnEvent) -> String {
        switch event {
        case .textDelta: return "text"
        case .toolCallStarted(let call): return "started:\(call.name)"
        case .toolCallFinished(let record): return "finished:\(record.name)"
        case .stepFinished(let step, _): return "step:\(step)"
        case .done: return "done"
        case .error(let type, _): return "error:\(type)"
        default: return "other:\(event)"
        }
    }

    /// Claims the session's next turn as a worker would, without running it.
    static func claimByHand(_ test: TestQueue, lane: String) throws -> Job {
        let claimed = try test.store.exchange(ExchangeRequest(
            workerID: "by-hand", now: .now, claimLimit: 1, claimScope: .lane(lane))).claimed
        return try #require(claimed.first, "nothing to claim on \(lane)")
    }

    static func runner(_ test: TestQueue) -> TurnRunner {
        TurnRunner(agents: test.queue.agents, sessions: test.queue.sessions, workspaces: test.home.workspacesDirectory)
    }

    // MARK: - Session.run and runStream

    @Test("run returns the turn's result; the turn is a job on the session's lane")
    func runReturnsTheResult() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        let session = try Session(agent: "echo", queue: test.queue)
        #expect(session.id.hasPrefix("ses_"))
        let record = try session.record()
        #expect(record.agent == "echo")
        #expect(record.status == .idle)
        #expect(record.messageCount == 0)

        let result = try await session.run("hi")
        #expect(result.response == "echo: hi")
        #expect(result.steps == 1)
        #expect(result.toolCalls.isEmpty)
        #expect(result.usage == TokenUsage(inputTokens: 1, outputTokens: 2))

        let jobs = try test.store.jobs(matching: JobFilter(lane: session.id))
        #expect(jobs.count == 1)
        let job = try #require(jobs.first)
        #expect(job.lane == session.id)
        #expect(job.handler == "echo")
        #expect(job.input == "hi")
        #expect(job.status == .succeeded)
        #expect(job.attempts == 1)
        #expect(try test.store.jobs(matching: JobFilter()).count == 1)

        let messages = try session.messages()
        #expect(messages.map(\.message.role) == [.user, .assistant])
        #expect(messages.map(\.message.content) == ["hi", "echo: hi"])
        #expect(messages.allSatisfy { $0.jobID == job.id })
        #expect(try session.record().status == .idle)
        #expect(try session.record().messageCount == 2)
        // The result file is written as for any job.
        #expect(try test.result(jobID: job.id)["response"] as? String == "echo: hi")

        // A second turn sees the first: the echo provider counts the whole history's words.
        let second = try await session.run("again please")
        #expect(second.response == "echo: again please")
        #expect(second.usage.inputTokens == 5)
        #expect(try test.store.jobs(matching: JobFilter(lane: session.id)).count == 2)
    }

    @Test("runStream yields text, step and done events in order")
    func streamOfAPlainTurn() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        let session = try Session(agent: "echo", queue: test.queue)
        var events: [TurnEvent] = []
        for try await event in session.runStream("stream me") { events.append(event) }
        #expect(events.map(Self.kind) == ["text", "step:1", "done"])
        #expect(events.first == .textDelta("echo: stream me"))
        guard case .done(let result)? = events.last else {
            Issue.record("the last event is not done: \(events)")
            return
        }
        #expect(result.response == "echo: stream me")
        #expect(result.steps == 1)
    }

    @Test("runStream of a tool-scripted agent reports each tool call between its steps")
    func streamOfAToolTurn() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "writer", provider: "echo", model: "echo", tools: ["write_file"],
            options: ["tool_calls": .array([.object([
                "name": .string("write_file"),
                "arguments": .object(["path": .string("out.txt"), "content": .string("streamed")]),
            ])])]))
        let session = try Session(agent: "writer", queue: test.queue)
        var events: [TurnEvent] = []
        for try await event in session.runStream("write it") { events.append(event) }

        #expect(events.map(Self.kind) == [
            "step:1", "started:write_file", "finished:write_file", "text", "step:2", "done",
        ])
        guard events.count == 6 else { return }
        if case .toolCallStarted(let call) = events[1] {
            #expect(call.name == "write_file")
            #expect(call.arguments.contains("out.txt"))
        }
        if case .toolCallFinished(let record) = events[2] {
            #expect(record.isError == false)
            #expect(record.resultSummary == "wrote 8 bytes to out.txt")
        }
        #expect(events[3] == .textDelta("echo: write it\n[write_file] wrote 8 bytes to out.txt"))
        if case .done(let result) = events[5] {
            #expect(result.steps == 2)
            #expect(result.toolCalls.map(\.name) == ["write_file"])
            #expect(result.response == "echo: write it\n[write_file] wrote 8 bytes to out.txt")
        } else {
            Issue.record("the last event is not done: \(events[5])")
        }
        #expect(Self.contents(Self.workspace(test, session.id).appendingPathComponent("out.txt")) == "streamed")
    }

    @Test("a failing agent makes run throw SessionTurnError and leaves the session in error")
    func failingTurnThrows() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "broken", provider: "echo", model: "echo", options: ["fail_permanently": .bool(true)]))
        let session = try Session(agent: "broken", queue: test.queue)
        do {
            let result = try await session.run("please")
            Issue.record("run returned \(result) instead of throwing")
        } catch let error as SessionTurnError {
            #expect(error.type == "invalid_request")
            #expect(error.message.contains("fail_permanently"))
            let jobID = try #require(error.jobID)
            let job = try #require(try test.store.job(id: jobID))
            #expect(job.status == .failed)
            #expect(job.lane == session.id)
        } catch {
            Issue.record("run threw \(type(of: error)): \(error), not SessionTurnError")
        }
        #expect(try session.record().status == .error)
        // A session in error still accepts messages; the user message of the failed turn was kept.
        #expect(try session.messages().map(\.message.role) == [.user])
    }

    @Test("Session(resuming:) finds a session by a unique prefix, with or without ses_")
    func resumingByPrefix() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        let original = try Session(agent: "echo", queue: test.queue)
        _ = try await original.run("remember me")

        let byPrefix = try Session(resuming: String(original.id.prefix(10)), queue: test.queue)
        #expect(byPrefix.id == original.id)
        let withoutSes = try Session(resuming: String(original.id.dropFirst(4).prefix(6)), queue: test.queue)
        #expect(withoutSes.id == original.id)
        #expect(try withoutSes.messages().map(\.message.content) == ["remember me", "echo: remember me"])
        let next = try await withoutSes.run("and this")
        #expect(next.response == "echo: and this")
        #expect(try original.record().messageCount == 4)

        do {
            _ = try Session(resuming: "nothing-like-it", queue: test.queue)
            Issue.record("an unknown ID resolved")
        } catch let error as AgentQError {
            #expect(error.code == .notFound)
            #expect(error.message == "No session found matching 'nothing-like-it'")
        }

        let manager = SessionManager(queue: test.queue)
        _ = try manager.create(agent: "echo", sessionID: "twin-1")
        _ = try manager.create(agent: "echo", sessionID: "twin-2")
        do {
            _ = try Session(resuming: "twin", queue: test.queue)
            Issue.record("an ambiguous prefix resolved")
        } catch let error as AgentQError {
            #expect(error.code == .invalidInput)
            #expect(error.message == "Ambiguous ID 'twin' — matches: twin-1, twin-2")
        }
    }

    @Test("a message with a NUL character is refused, not cut off at it")
    func nulInMessage() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let manager = SessionManager(queue: test.queue)
        let session = try manager.create(agent: "echo")
        #expect {
            try manager.send("before\u{0}after", to: session.id)
        } throws: { error in
            (error as? AgentQError)?.code == .invalidInput && "\(error)".contains("NUL character")
        }
        #expect(try test.store.jobs(matching: JobFilter(lane: session.id)).isEmpty)
    }

    @Test("expireIdleSessions times out idle sessions and removes their workspace")
    func idleExpiry() async throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(name: "patient", provider: "echo", model: "echo", idleTimeoutSeconds: 7 * 86_400))
        let manager = SessionManager(queue: test.queue)
        let idle = try Session(agent: "echo", queue: test.queue)
        _ = try await idle.run("hello")
        let patient = try Session(agent: "patient", queue: test.queue)
        _ = try await patient.run("hello")
        // A session with a turn waiting in the queue is not idle, whatever its clock says.
        let waiting = try manager.create(agent: "echo")
        let waitingJob = try manager.send("later", to: waiting.id)

        let workspace = Self.workspace(test, idle.id)
        try Data("draft".utf8).write(to: workspace.appendingPathComponent("draft.txt"))

        // Not yet.
        manager.expireIdleSessions(now: .now)
        #expect(try idle.record().status == .idle)
        #expect(Self.exists(workspace))

        manager.expireIdleSessions(now: Timestamp.now.adding(milliseconds: 24 * 3_600_000))
        #expect(try idle.record().status == .timeout)
        #expect(!Self.exists(workspace), "the workspace of a timed-out session is still there")
        #expect(try idle.messages().count == 2, "the history must stay readable")
        #expect(try patient.record().status == .idle)
        #expect(Self.exists(Self.workspace(test, patient.id)))
        #expect(try manager.resolve(waiting.id).status == .idle)
        #expect(Self.exists(Self.workspace(test, waiting.id)))
        #expect(try test.store.job(id: waitingJob)?.status == .queued)

        do {
            _ = try await idle.run("are you there")
            Issue.record("a timed-out session ran a turn")
        } catch let error as AgentQError {
            #expect(error.message == "Session '\(idle.id)' has status 'timeout' and cannot be resumed")
        }
        #expect(try idle.messages().count == 2)
    }

    // MARK: - TurnRunner durability

    @Test("a turn whose tool already ran continues from there: no tool rerun, no second user message")
    func resumedTurnSkipsCompletedSteps() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let command = "echo ran >> count.txt"
        try test.queue.agents.save(AgentDefinition(
            name: "appender", provider: "echo", model: "echo", tools: ["bash"],
            options: ["tool_calls": .array([Self.bashCall(command)])], sandbox: "none"))
        let manager = SessionManager(queue: test.queue)
        let session = try manager.create(agent: "appender")
        let jobID = try manager.send("go", to: session.id)
        let job = try Self.claimByHand(test, lane: session.id)
        #expect(job.id == jobID)
        #expect(job.attempts == 1)

        // What an earlier attempt of this job left: its user message, the model's tool call,
        // and the tool's result (the tool really ran: count.txt has its line).
        let sessions = test.queue.sessions
        let arguments = #"{"command":"\#(command)"}"#
        try sessions.append(SessionMessage(jobID: job.id, message: ChatMessage(role: .user, content: "go")), sessionID: session.id)
        try sessions.append(
            SessionMessage(
                jobID: job.id,
                message: ChatMessage(role: .assistant, content: "", toolCalls: [ToolCall(id: "call_1", name: "bash", arguments: arguments)]),
                usage: TokenUsage(inputTokens: 1, outputTokens: 1)),
            sessionID: session.id)
        try sessions.append(
            SessionMessage(
                jobID: job.id,
                message: ChatMessage(role: .tool, content: "exit code: 0", toolCallID: "call_1", toolName: "bash"),
                durationMilliseconds: 5),
            sessionID: session.id)
        let countFile = Self.workspace(test, session.id).appendingPathComponent("count.txt")
        try Data("ran\n".utf8).write(to: countFile)

        let runner = Self.runner(test)
        let output = try runner.run(job, token: CancellationToken())
        let result = try #require(TurnResult(jsonText: output), "output: \(output)")
        #expect(result.response == "echo: go\n[bash] exit code: 0")
        #expect(result.steps == 2)
        #expect(result.toolCalls.count == 1)
        #expect(result.toolCalls.first?.id == "call_1")
        #expect(result.toolCalls.first?.resultSummary == "exit code: 0")
        #expect(Self.contents(countFile) == "ran\n", "the finished tool ran again")

        let messages = try sessions.messages(sessionID: session.id, last: nil)
        #expect(messages.map(\.message.role) == [.user, .assistant, .tool, .assistant])
        #expect(messages.filter { $0.message.role == .user }.count == 1)
        #expect(messages.allSatisfy { $0.jobID == job.id })
        #expect(try manager.resolve(session.id).status == .idle)

        // Running the same job once more (another rescue) changes nothing and answers the same.
        let again = try runner.run(job, token: CancellationToken())
        #expect(TurnResult(jsonText: again) == result)
        #expect(try sessions.messages(sessionID: session.id, last: nil).count == 4)
        #expect(Self.contents(countFile) == "ran\n")
    }

    @Test("a turn cancelled during its second tool resumes without rerunning the first or repeating the user message")
    func cancelledTurnResumes() throws {
        let test = try TestQueue()
        defer { test.remove() }
        try test.queue.agents.save(AgentDefinition(
            name: "twostep", provider: "echo", model: "echo", tools: ["bash"],
            options: ["tool_calls": .array([
                Self.bashCall("echo ran >> count.txt"),
                Self.bashCall("touch waiting; sleep 30"),
            ])],
            sandbox: "none"))
        let manager = SessionManager(queue: test.queue)
        let session = try manager.create(agent: "twostep")
        _ = try manager.send("go", to: session.id)
        let job = try Self.claimByHand(test, lane: session.id)
        let workspace = Self.workspace(test, session.id)
        let countFile = workspace.appendingPathComponent("count.txt")
        let waiting = workspace.appendingPathComponent("waiting")

        let token = CancellationToken()
        let canceller = Thread {
            let deadline = Date().addingTimeInterval(20)
            while !FileManager.default.fileExists(atPath: waiting.path) && Date() < deadline { usleep(10_000) }
            token.cancel()
        }
        canceller.start()
        let runner = Self.runner(test)
        let started = Date()
        #expect(throws: JobCancelled.self) { _ = try runner.run(job, token: token) }
        #expect(Date().timeIntervalSince(started) < 10, "the cancel did not stop the sleeping tool")
        #expect(Self.exists(waiting), "the second tool never started")
        #expect(Self.contents(countFile) == "ran\n")
        let afterCancel = try test.queue.sessions.messages(sessionID: session.id, last: nil)
        #expect(afterCancel.map(\.message.role) == [.user, .assistant, .tool, .assistant, .tool])
        #expect(afterCancel.last?.message.isError == true)

        // The next attempt of the same job.
        let output = try runner.run(job, token: CancellationToken())
        let result = try #require(TurnResult(jsonText: output))
        #expect(result.response?.hasPrefix("echo: go") == true)
        #expect(Self.contents(countFile) == "ran\n", "the first tool ran again")
        let messages = try test.queue.sessions.messages(sessionID: session.id, last: nil)
        #expect(messages.filter { $0.message.role == .user }.count == 1, "roles: \(messages.map(\.message.role))")
        #expect(messages.last?.message.role == .assistant)
        #expect(messages.last?.message.toolCalls.isEmpty == true)
        // Every tool call has exactly one result.
        let calls = messages.flatMap(\.message.toolCalls).map(\.id)
        for id in calls {
            #expect(messages.filter { $0.message.toolCallID == id }.count == 1, "\(id)")
        }
    }
}
