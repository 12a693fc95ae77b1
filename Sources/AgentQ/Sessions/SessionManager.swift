import Foundation
import JobQueue

/// The session operations behind `agentq sessions …` and ``Session``: create, send, pause,
/// resume, end, cancel, find by ID prefix, and expire idle sessions.
///
/// Every turn is a job on the session's lane of the queue, so turns of one session run one
/// at a time and in order, whichever process runs them.
///
/// ```swift
/// let manager = SessionManager(queue: queue)
/// let session = try manager.create(agent: "echo")
/// let jobID = try manager.send("hello", to: session.id)
/// ```
public struct SessionManager: Sendable {
    public let queue: AgentQueue

    /// Idle sessions close after this long unless their agent says otherwise
    /// (`idle_timeout_seconds`) or `AGENTQ_IDLE_TIMEOUT_SECONDS` is set.
    public static let defaultIdleTimeoutSeconds = 29 * 60

    public init(queue: AgentQueue) { self.queue = queue }

    /// Creates an idle session.
    /// - throws: ``AgentQError`` `.invalidName` for a session ID or agent name that breaks ``Name``'s
    ///   rule, `.unknownAgent`, or `.alreadyExists` for a taken ID.
    public func create(agent: String, sessionID: String? = nil, workdir: String? = nil, title: String? = nil) throws -> SessionRecord {
        let id = sessionID ?? SessionRecord.makeID()
        // The ID names the workspace directory: checked before anything is made.
        try Name.validate(id, as: .session)
        try Name.validate(agent, as: .agent)
        guard let definition = try queue.agents.agent(named: agent) else {
            throw AgentQError(.unknownAgent, "no agent named '\(agent)' (agentq agents list shows them)")
        }
        // Before the workspace is made: a taken ID leaves nothing behind.
        if try queue.sessions.session(id: id) != nil {
            throw AgentQError(.alreadyExists, "a session with ID '\(id)' already exists")
        }
        var directory: String
        var managed = true
        if let workdir {
            directory = URL(fileURLWithPath: (workdir as NSString).expandingTildeInPath).standardizedFileURL.path
            managed = false
        } else {
            directory = queue.home.workspacesDirectory.appendingPathComponent(id).path
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            directory = URL(fileURLWithPath: directory).resolvingSymlinksInPath().path
        } catch {
            throw AgentQError(.io, "cannot create the workspace \(directory): \(error.localizedDescription)")
        }
        let now = Timestamp.now
        let record = SessionRecord(
            id: id, agent: agent, title: title, workdir: directory, managedWorkdir: managed, createdAt: now,
            lastActiveAt: now, host: definition.sharedWorkspace || queue.sharedWorkspaces ? nil : queue.hostID)
        try queue.sessions.create(record)
        return record
    }

    /// Finds a session by its full ID or a unique prefix of it (with or without `ses_`).
    /// - throws: ``AgentQError`` `.notFound` (`No session found matching 'abc'`) or
    ///   `.invalidInput` (`Ambiguous ID 'a1' — matches: …`).
    public func resolve(_ idOrPrefix: String) throws -> SessionRecord {
        expireIdleSessions()
        if let exact = try queue.sessions.session(id: idOrPrefix) { return exact }
        var matches = try queue.sessions.sessions(withPrefix: idOrPrefix, limit: 6)
        if matches.isEmpty && !idOrPrefix.hasPrefix("ses_") && !idOrPrefix.isEmpty {
            matches = try queue.sessions.sessions(withPrefix: "ses_" + idOrPrefix, limit: 6)
        }
        switch matches.count {
        case 0:
            throw AgentQError(.notFound, "No session found matching '\(idOrPrefix)'")
        case 1:
            return matches[0]
        default:
            let listed = matches.prefix(5).map(\.id).joined(separator: ", ") + (matches.count > 5 ? ", …" : "")
            throw AgentQError(.invalidInput, "Ambiguous ID '\(idOrPrefix)' — matches: \(listed)")
        }
    }

    /// Finds a session by its full ID only: for callers (the HTTP API) where a prefix matching
    /// some other session would act on the wrong one.
    /// - throws: ``AgentQError`` `.notFound`.
    public func session(exactID id: String) throws -> SessionRecord {
        expireIdleSessions()
        guard let session = try queue.sessions.session(id: id) else {
            throw AgentQError(.notFound, "No session found with ID '\(id)'")
        }
        return session
    }

    /// Sets the session's title (nil clears it); a closed session's history can still be named.
    /// - throws: ``AgentQError`` `.notFound`.
    public func setTitle(_ title: String?, sessionID: String) throws -> SessionRecord {
        let session = try resolve(sessionID)
        try queue.sessions.setTitle(title, sessionID: session.id)
        return try reload(session)
    }

    /// Enqueues a turn. It runs when a worker (or the caller) claims it; on a paused session it waits.
    /// - returns: the turn's job ID.
    /// - throws: ``AgentQError`` `.sessionClosed` when the session is ended or timed out, `.invalidInput`
    ///   when the input is empty or holds a NUL character.
    /// - parameter observing: receives the turn's events when it runs in this process.
    public func send(
        _ input: String, to sessionID: String, observing: (@Sendable (TurnEvent) -> Void)? = nil
    ) throws -> String {
        let session = try resolve(sessionID)
        guard session.status.acceptsMessages else { throw closed(session) }
        guard !input.isEmpty else { throw AgentQError(.invalidInput, "the message is empty") }
        guard !input.containsNUL else {
            throw AgentQError(.invalidInput, "the message contains a NUL character (\\u0000), which agentq cannot store")
        }
        let host = try turnHost(of: session)
        var jobID = ""
        _ = try queue.store.enqueue(batch: nil) { inserter in
            jobID = try inserter.insert(
                NewJob(lane: session.id, handler: session.agent, input: input, maxAttempts: 3, host: host))
            // Registered inside the transaction: no worker can see the job before its observer exists.
            if let observing { TurnObservers.shared.observe(jobID: jobID, observing) }
        }
        return jobID
    }

    /// The host whose workers may run the session's turns: the one holding its workspace, or
    /// any (nil) when its agent says workspaces are on shared storage.
    private func turnHost(of session: SessionRecord) throws -> String? {
        guard let host = session.host else { return nil }
        return try queue.agents.agent(named: session.agent)?.sharedWorkspace == true ? nil : host
    }

    /// Holds the session's turns in the queue; the workspace is kept.
    public func pause(_ sessionID: String) throws -> SessionRecord {
        let session = try resolve(sessionID)
        guard session.status.acceptsMessages else { throw closed(session) }
        try queue.store.setLane(session.id, paused: true)
        try queue.sessions.setStatus(.paused, sessionID: session.id, from: [.idle, .error, .active, .paused])
        return try reload(session)
    }

    /// Lets a paused session's turns run again.
    /// - throws: ``AgentQError`` `.sessionClosed`: `Session 'X' has status 'ended' and cannot be resumed`.
    public func resume(_ sessionID: String) throws -> SessionRecord {
        let session = try resolve(sessionID)
        guard session.status.acceptsMessages else { throw closed(session) }
        try queue.store.setLane(session.id, paused: false)
        try queue.sessions.setStatus(.idle, sessionID: session.id, from: [.paused])
        return try reload(session)
    }

    /// Cancels the session's running turn (and any queued ones) through their jobs' cancellation tokens.
    /// - throws: ``AgentQError`` `.sessionClosed` when the session ended or timed out (its turns
    ///   were cancelled then).
    public func cancel(_ sessionID: String) throws -> [CancelOutcome] {
        let session = try resolve(sessionID)
        guard session.status.acceptsMessages else { throw closed(session) }
        return try queue.cancel(.lane(session.id))
    }

    /// Ends the session: cancels its turns, removes the workspace agentq created, keeps the history.
    /// - throws: ``AgentQError`` `.sessionClosed` when it already ended or timed out.
    public func end(_ sessionID: String) throws -> SessionRecord {
        let session = try resolve(sessionID)
        guard session.status.acceptsMessages else { throw closed(session) }
        try close(session, as: .ended)
        return try reload(session)
    }

    /// Times out idle sessions past their idle timeout (called by workers and by every command).
    public func expireIdleSessions(now: Timestamp = .now) {
        let environment = ProcessInfo.processInfo.environment["AGENTQ_IDLE_TIMEOUT_SECONDS"].flatMap(Int.init)
        let fallback = Int64(environment ?? Self.defaultIdleTimeoutSeconds) * 1000
        var perAgent: [String: Int64] = [:]
        let candidates = (try? queue.sessions.sessions(agent: nil, status: .idle)) ?? []
        for session in candidates where perAgent[session.agent] == nil {
            let seconds = (try? queue.agents.agent(named: session.agent))??.idleTimeoutSeconds
            perAgent[session.agent] = seconds.map { Int64($0) * 1000 } ?? fallback
        }
        // A session with a turn still waiting in the queue is not idle, whatever its clock says.
        let expired = (try? queue.sessions.expireIdleSessions(now: now) { agent in perAgent[agent] ?? fallback }) ?? []
        for session in expired {
            if (try? queue.store.hasUnfinishedJobs(in: .lane(session.id))) == true {
                _ = try? queue.sessions.setStatus(.idle, sessionID: session.id, from: [.timeout])
                continue
            }
            try? removeWorkspace(of: session)
        }
    }

    /// The session as stored now, after this manager changed it.
    private func reload(_ session: SessionRecord) throws -> SessionRecord {
        guard let current = try queue.sessions.session(id: session.id) else {
            throw AgentQError(.notFound, "No session found matching '\(session.id)'")
        }
        return current
    }

    private func close(_ session: SessionRecord, as status: SessionStatus) throws {
        try queue.sessions.setStatus(status, sessionID: session.id, from: nil)
        _ = try queue.cancel(.lane(session.id))
        try queue.store.setLane(session.id, paused: false)
        try removeWorkspace(of: session)
    }

    private func removeWorkspace(of session: SessionRecord) throws {
        // A --workdir the user chose is theirs; only workspaces agentq made are removed. The
        // path is built from the checked ID, not read from the row (which an older agentq or a
        // hand edit may have filled with anything), and must resolve inside <home>/workspaces.
        guard session.managedWorkdir, Name.isValid(session.id) else { return }
        let workspaces = queue.home.workspacesDirectory
        try ManagedWorkspace.remove(workspaces.appendingPathComponent(session.id).path, inside: workspaces)
    }

    private func closed(_ session: SessionRecord) -> AgentQError {
        AgentQError(.sessionClosed, "Session '\(session.id)' has status '\(session.status.rawValue)' and cannot be resumed")
    }
}
