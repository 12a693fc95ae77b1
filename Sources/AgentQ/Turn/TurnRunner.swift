import Foundation
import JobQueue

/// Runs one turn of an agent for a job: the ``JobQueue/JobHandler`` of agentq's workers.
///
/// The job's `handler` names the agent, its `input` is the user's message and its `lane`,
/// when set, is the session. A turn is the agent loop: call the model with the history and
/// the agent's tools, run the tools it asks for in the session's workspace, feed the results
/// back, until it answers or reaches `max_steps`. Every model response and tool result is
/// persisted as it completes, so a retried or rescued turn continues from its last
/// completed step: it never appends the user message twice nor runs a finished tool again.
/// It reads agents and sessions through their store protocols and knows no SQL.
///
/// ```swift
/// let runner = TurnRunner(agents: agents, sessions: sessions, workspaces: home.workspacesDirectory)
/// let output = try await runner.run(job, token: CancellationToken(), threads: threads)
/// ```
public final class TurnRunner: AsyncJobHandler, @unchecked Sendable {
    public let agents: any AgentStore
    public let sessions: any SessionStore
    public let workspaces: URL
    public let observers: TurnObservers
    public let budgets: (any BatchBudgetStore)?
    /// Rate limits shared with the home's other processes (nil: each process paces its own calls).
    public let rateLimits: (any RateLimitStore)?
    /// The host recorded on a session a bulk line starts (its workspace is made here), unless
    /// its agent's workspace is shared: later turns sent to it are then run on this host.
    public let hostID: String?
    private let lock = NSLock()
    private var budgetedBatches: [String: Bool] = [:]
    private var cache: [String: (agent: AgentDefinition, provider: any ModelProvider, tools: [any AgentTool], loadedAt: Timestamp)] = [:]
    /// Definitions changed with `agents add` reach running workers after this long.
    private let cacheMilliseconds: Int64 = 2000

    public init(
        agents: any AgentStore, sessions: any SessionStore, workspaces: URL, budgets: (any BatchBudgetStore)? = nil,
        rateLimits: (any RateLimitStore)? = nil, observers: TurnObservers = .shared, hostID: String? = nil
    ) {
        self.hostID = hostID
        self.budgets = budgets
        self.rateLimits = rateLimits
        self.agents = agents
        self.sessions = sessions
        self.workspaces = workspaces
        self.observers = observers
    }

    /// What a turn starts from: resolved on a worker thread (it reads the stores and makes the workspace).
    private struct Prepared: Sendable {
        var agent: AgentDefinition
        var provider: any ModelProvider
        var tools: [any AgentTool]
        var session: SessionRecord?
        var workspace: URL?
        var transcript: TurnTranscript
    }

    /// Runs the turn as a task: waiting on the model holds no thread, and everything that
    /// blocks (the stores, the workspace, tools) runs on `threads`.
    public func run(_ job: Job, token: CancellationToken, threads: WorkerThreads) async throws -> String {
        let prepared = try await threads.perform { try self.prepare(job) }
        let started = DispatchTime.now().uptimeNanoseconds
        let emit: @Sendable (TurnEvent) -> Void = { [observers] in observers.emit($0, jobID: job.id) }
        let transcript = prepared.transcript
        let result: Result<String, any Error>
        do {
            if transcript.turn.first?.message.role != .user {
                try await append(ChatMessage(role: .user, content: job.input), to: transcript, threads: threads)
            }
            let response = try await loop(prepared, job: job, token: token, threads: threads, emit: emit)
            let turnResult = TurnResult(
                response: response, toolCalls: transcript.toolCallRecords, usage: transcript.usage, steps: transcript.steps)
            emit(.done(turnResult))
            result = .success(turnResult.jsonText)
        } catch {
            result = .failure(await ending(error, job: job, transcript: transcript, token: token, threads: threads, emit: emit))
        }
        let outcome: TurnMetrics.Outcome
        switch result {
        case .success: outcome = .succeeded
        case .failure(let error): outcome = error is JobCancelled ? .cancelled : .failed
        }
        TurnMetrics.turnDuration(outcome).recordNanoseconds(Int64(truncatingIfNeeded: DispatchTime.now().uptimeNanoseconds - started))
        var failedForGood = false
        if case .failure(let failure as JobFailure) = result {
            failedForGood = !failure.retryable || job.attempts >= job.maxAttempts
        }
        if prepared.session != nil || prepared.workspace != nil {
            let (session, workspace) = (prepared.session, prepared.workspace)
            let status: SessionStatus = failedForGood ? .error : .idle
            _ = try? await threads.perform { self.release(session: session, workspace: workspace, status: status) }
        }
        return try result.get()
    }

    /// Ends the turn's hold: the session leaves `active` for `status`, or a job's own workspace
    /// (no session) is removed.
    private func release(session: SessionRecord?, workspace: URL?, status: SessionStatus) {
        if let session {
            _ = try? sessions.setStatus(status, sessionID: session.id, from: [.active])
        } else if let workspace {
            _ = try? ManagedWorkspace.remove(workspace.path, inside: workspaces)
        }
    }

    /// Checks the batch's budget, resolves the agent, opens the session and its workspace, and
    /// reads the history.
    private func prepare(_ job: Job) throws -> Prepared {
        // A batch over its budget starts no more jobs.
        if let batchID = job.batchID, try hasBudget(batchID), let reason = try budgets?.budget(batchID: batchID)?.exhaustedReason {
            throw JobFailure(type: "budget_exceeded", message: "not started: \(reason)", retryable: false)
        }
        let (agent, provider, tools) = try resolve(agentNamed: job.handler)
        var session: SessionRecord?
        if let sessionID = job.lane { session = try openSession(sessionID, agent: agent) }
        let workspace = try prepareWorkspace(session: session, job: job, needed: !tools.isEmpty)
        do {
            let transcript = try TurnTranscript(sessionID: session?.id, jobID: job.id, store: session == nil ? nil : sessions)
            return Prepared(agent: agent, provider: provider, tools: tools, session: session, workspace: workspace, transcript: transcript)
        } catch {
            release(session: session, workspace: workspace, status: .idle)
            throw error
        }
    }

    /// Turns what stopped the turn into the error the worker pool understands, keeping the
    /// history valid and telling the observers.
    private func ending(
        _ error: any Error, job: Job, transcript: TurnTranscript, token: CancellationToken, threads: WorkerThreads,
        emit: @Sendable (TurnEvent) -> Void
    ) async -> any Error {
        let partial = TurnResult(
            response: nil, toolCalls: transcript.toolCallRecords, usage: transcript.usage, steps: transcript.steps
        ).jsonText
        if error is JobCancelled || token.isCancelled {
            if token.reason == nil || token.reason == .requested {
                // Cancelled for good: every tool call gets an answer, so the history stays valid to send.
                for call in transcript.unansweredCalls {
                    try? await append(
                        ChatMessage(role: .tool, content: "cancelled", toolCallID: call.id, toolName: call.name, isError: true),
                        to: transcript, threads: threads)
                }
                emit(.error(type: "cancelled", message: "the turn was cancelled"))
            }
            // On shutdown or a lost lease the turn runs again: an interrupted tool call stays
            // open, so it is run again, since it never finished.
            return JobCancelled(output: partial)
        }
        var failure: JobFailure
        switch error {
        case let providerError as ProviderError:
            failure = JobFailure(
                type: providerError.type, message: providerError.message, retryable: providerError.retryable,
                retryAfterMilliseconds: providerError.retryAfterMilliseconds)
        case let jobFailure as JobFailure:
            failure = jobFailure
        case let storeError as StoreError where storeError.isTransient:
            // The database was locked or failing for longer than its retries: not the
            // turn's fault. It goes back to the queue and continues from its last stored step.
            failure = JobFailure(
                type: "database_unavailable", message: storeError.message, retryable: true,
                retryAfterMilliseconds: 1000)
        default:
            failure = JobFailure(type: "internal_error", message: "\(error)", retryable: false)
        }
        failure.output = partial
        emit(.error(type: failure.error.type, message: failure.error.message))
        return failure
    }

    /// Appends to the transcript: on a worker thread when it is stored in the session.
    private func append(
        _ message: ChatMessage, usage: TokenUsage = TokenUsage(), durationMilliseconds: Int? = nil, to transcript: TurnTranscript,
        threads: WorkerThreads
    ) async throws {
        guard transcript.isStored else {
            try transcript.append(message, usage: usage, durationMilliseconds: durationMilliseconds)
            return
        }
        try await threads.perform { try transcript.append(message, usage: usage, durationMilliseconds: durationMilliseconds) }
    }

    private func loop(
        _ prepared: Prepared, job: Job, token: CancellationToken, threads: WorkerThreads, emit: @escaping @Sendable (TurnEvent) -> Void
    ) async throws -> String {
        let (agent, provider, tools, transcript, workspace) = (
            prepared.agent, prepared.provider, prepared.tools, prepared.transcript, prepared.workspace)
        let limits = SpendLimits(job: job, agent: agent)
        // A batch that reaches its cap lets a finished answer stand but takes no further step.
        var batchReason: String?
        let toolsByName = Dictionary(tools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let specs = tools.map { ToolSpec(name: $0.name, description: $0.description, parametersSchema: $0.parametersSchema) }
        while true {
            try token.checkCancelled()
            let pending = transcript.unansweredCalls
            if !pending.isEmpty {
                for call in pending {
                    try token.checkCancelled()
                    emit(.toolCallStarted(call))
                    let started = DispatchTime.now().uptimeNanoseconds
                    // Tools block (a child process, file I/O): on a worker thread.
                    let output = try await threads.perform {
                        try self.runTool(call, tools: toolsByName, workspace: workspace, agent: agent, token: token)
                    }
                    let duration = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
                    try await append(
                        ChatMessage(role: .tool, content: output.content, toolCallID: call.id, toolName: call.name,
                                    isError: output.isError),
                        durationMilliseconds: duration, to: transcript, threads: threads)
                    emit(.toolCallFinished(ToolCallRecord(
                        id: call.id, name: call.name, arguments: call.arguments,
                        resultSummary: ToolCallRecord.summary(of: output.content), durationMilliseconds: duration,
                        isError: output.isError)))
                }
                continue
            }
            if let answer = transcript.finalAnswer { return answer }
            guard transcript.steps < agent.maxSteps else {
                throw JobFailure(
                    type: "max_steps", message: "the agent did not answer within max_steps (\(agent.maxSteps))",
                    retryable: false)
            }
            try checkBudget(transcript.usage, limits: limits, batchID: batchReason)
            var messages: [ChatMessage] = []
            if let system = agent.systemPrompt { messages.append(ChatMessage(role: .system, content: system)) }
            messages += transcript.history + transcript.turn.map(\.message)
            let streamed = Locked(false)
            let jobID = job.id, observers = self.observers
            let request = ModelRequest(
                agent: agent, messages: messages, tools: specs, attempt: job.attempts,
                onTextDelta: { text in
                    streamed.update { $0 = true }
                    observers.emit(.textDelta(text), jobID: jobID)
                },
                onRestart: { if streamed.current { observers.emit(.streamRestarted, jobID: jobID) } })
            var response: ModelResponse
            if let asyncProvider = provider as? any AsyncModelProvider {
                response = try await asyncProvider.respond(to: request, token: token, threads: threads)
            } else {
                // A provider that blocks gets a worker thread for its call.
                response = try await threads.perform { try provider.respond(to: request, token: token) }
            }
            if response.usage.costUSD == 0 { response.usage.costUSD = agent.http.cost(of: response.usage) }
            TurnMetrics.record(response.usage)
            try await append(
                ChatMessage(role: .assistant, content: response.text, toolCalls: response.toolCalls), usage: response.usage,
                to: transcript, threads: threads)
            if !response.text.isEmpty && !streamed.current { emit(.textDelta(response.text)) }
            emit(.stepFinished(step: transcript.steps, usage: response.usage))
            if let batchID = job.batchID, try knownToHaveBudget(batchID) {
                let usage = response.usage, budgets = self.budgets
                batchReason = try await threads.perform { try budgets?.recordSpend(batchID: batchID, usage: usage)?.exhaustedReason }
            }
            try checkBudget(transcript.usage, limits: limits, batchID: nil)
        }
    }

    /// Whether a batch has a budget, from what ``prepare(_:)`` learned (it asked before the turn began).
    private func knownToHaveBudget(_ batchID: String) throws -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return budgetedBatches[batchID] ?? (budgets != nil)
    }

    /// Whether a batch has a budget; asked once per batch, since budgets are set at submission.
    private func hasBudget(_ batchID: String) throws -> Bool {
        lock.lock()
        let known = budgetedBatches[batchID]
        lock.unlock()
        if let known { return known }
        let has = try budgets?.budget(batchID: batchID) != nil
        lock.lock()
        budgetedBatches[batchID] = has
        lock.unlock()
        return has
    }

    /// Fails the turn once it has spent more than its job may.
    private func checkBudget(_ usage: TokenUsage, limits: SpendLimits, batchID batchReason: String?) throws {
        if let batchReason {
            throw JobFailure(type: "budget_exceeded", message: batchReason, retryable: false)
        }
        if let maxCost = limits.maxCostUSD, usage.costUSD > maxCost {
            throw JobFailure(
                type: "budget_exceeded",
                message: String(format: "the job spent $%.4f, over its cap max_cost_usd = $%.4f", usage.costUSD, maxCost),
                retryable: false)
        }
        if let maxTokens = limits.maxTokensTotal, usage.totalTokens > maxTokens {
            throw JobFailure(
                type: "budget_exceeded",
                message: "the job used \(usage.totalTokens) tokens, over its cap max_tokens_total = \(maxTokens)",
                retryable: false)
        }
    }

    /// Runs one tool call; bad calls become error results the model sees, never a failed turn.
    private func runTool(
        _ call: ToolCall, tools: [String: any AgentTool], workspace: URL?, agent: AgentDefinition, token: CancellationToken
    ) throws -> ToolOutput {
        guard let tool = tools[call.name] else {
            let known = tools.keys.sorted().joined(separator: ", ")
            return ToolOutput(content: "unknown tool '\(call.name)' (this agent has: \(known.isEmpty ? "no tools" : known))", isError: true)
        }
        guard let data = call.arguments.data(using: .utf8),
            let arguments = try? JSONDecoder().decode([String: JSONValue].self, from: data.isEmpty ? Data("{}".utf8) : data)
        else {
            return ToolOutput(content: "invalid arguments for \(call.name): not a JSON object: \(call.arguments)", isError: true)
        }
        guard let workspace else { return ToolOutput(content: "no workspace for this turn", isError: true) }
        return try tool.run(
            arguments: arguments,
            context: ToolContext(
                workspace: workspace, token: token, sandbox: agent.sandboxPolicy,
                // The home (the parent of workspaces/), in case it lies in a directory the sandbox shows.
                hiddenDirectories: [workspaces.deletingLastPathComponent()]))
    }

    private func openSession(_ sessionID: String, agent: AgentDefinition) throws -> SessionRecord {
        // A lane written by an older agentq (or by hand) may name anything: it never becomes a path.
        if let problem = Name.problem(with: sessionID, as: .session) {
            throw JobFailure(type: "invalid_session", message: problem, retryable: false)
        }
        if try sessions.session(id: sessionID) == nil {
            // A bulk line naming a new session starts it.
            let now = Timestamp.now
            try? sessions.create(SessionRecord(
                id: sessionID, agent: agent.name, workdir: workspaces.appendingPathComponent(sessionID).path,
                managedWorkdir: true, createdAt: now, lastActiveAt: now, host: agent.sharedWorkspace ? nil : hostID))
        }
        guard let session = try sessions.session(id: sessionID) else {
            throw JobFailure(type: "session_missing", message: "session '\(sessionID)' could not be created", retryable: true)
        }
        guard session.status.acceptsMessages else {
            throw JobFailure(
                type: "session_closed",
                message: "Session '\(session.id)' has status '\(session.status.rawValue)' and cannot be resumed",
                retryable: false)
        }
        try sessions.setStatus(.active, sessionID: session.id, from: [.idle, .error, .active, .paused])
        return session
    }

    private func prepareWorkspace(session: SessionRecord?, job: Job, needed: Bool) throws -> URL? {
        let directory: URL
        if let session, session.managedWorkdir {
            // Built from the checked ID, never from a stored path: a row written by an older
            // agentq (or by hand) cannot make agentq create directories outside the home.
            directory = workspaces.appendingPathComponent(session.id, isDirectory: true)
        } else if let session {
            directory = URL(fileURLWithPath: session.workdir, isDirectory: true)
        } else {
            guard needed else { return nil }
            directory = workspaces.appendingPathComponent(job.id, isDirectory: true)
        }
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw JobFailure(type: "workspace_error", message: "cannot create the workspace \(directory.path): \(error.localizedDescription)", retryable: false)
        }
        return directory
    }

    private func resolve(agentNamed name: String) throws -> (AgentDefinition, any ModelProvider, [any AgentTool]) {
        let now = Timestamp.now
        lock.lock()
        if let cached = cache[name], now.milliseconds - cached.loadedAt.milliseconds < cacheMilliseconds {
            lock.unlock()
            return (cached.agent, cached.provider, cached.tools)
        }
        lock.unlock()
        guard let agent = try agents.agent(named: name) else {
            throw JobFailure(
                type: "unknown_agent", message: "agent '\(name)' does not exist (agentq agents list shows them)",
                retryable: false)
        }
        let provider: any ModelProvider
        let tools: [any AgentTool]
        do {
            provider = try ProviderRegistry.provider(for: agent, rateLimits: rateLimits)
            tools = try ToolRegistry.tools(named: agent.tools)
        } catch let error as AgentQError {
            throw JobFailure(type: "invalid_agent", message: error.message, retryable: false)
        }
        lock.lock()
        cache[name] = (agent, provider, tools, now)
        lock.unlock()
        return (agent, provider, tools)
    }
}
