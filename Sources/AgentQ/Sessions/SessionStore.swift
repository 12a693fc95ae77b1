import JobQueue

/// Where sessions and their transcripts live. ``SQLiteSessionStore`` keeps them in the queue's database.
public protocol SessionStore: Sendable {
    /// - throws: ``AgentQError`` `.invalidInput` when the ID is taken.
    func create(_ session: SessionRecord) throws
    func session(id: String) throws -> SessionRecord?
    /// Sessions whose ID starts with `prefix` (at most `limit`).
    func sessions(withPrefix prefix: String, limit: Int) throws -> [SessionRecord]
    /// Newest activity first.
    func sessions(agent: String?, status: SessionStatus?) throws -> [SessionRecord]
    /// Sets the status, only from one of `from` when given.
    /// - returns: whether it changed.
    @discardableResult
    func setStatus(_ status: SessionStatus, sessionID: String, from: Set<SessionStatus>?) throws -> Bool
    /// Appends a message (its `seq` is assigned) and marks the session active now.
    @discardableResult
    func append(_ message: SessionMessage, sessionID: String) throws -> SessionMessage
    /// The transcript in order; with `last`, only the last N messages.
    func messages(sessionID: String, last: Int?) throws -> [SessionMessage]
    /// Closes idle sessions not active since `idleTimeout` before `now` (per agent or the default).
    /// - returns: the sessions it closed.
    func expireIdleSessions(now: Timestamp, timeoutMilliseconds: (String) -> Int64) throws -> [SessionRecord]
    /// Deletes sessions that ended or timed out and were last active before `endedBefore`,
    /// with their whole history, in short transactions; the session row goes first, so an ID
    /// being pruned can no longer be resumed. Active, idle, paused and errored sessions stay.
    /// - parameter dryRun: count what would go, delete nothing.
    /// - throws: ``JobQueue/StoreError``.
    func pruneClosedSessions(endedBefore: Timestamp, dryRun: Bool) throws -> SessionPruneReport
    /// How many sessions are in each status.
    func countsByStatus() throws -> [SessionStatus: Int]
}
