import JobQueue

/// Where sessions and their transcripts live. ``SQLiteSessionStore`` keeps them in the queue's database.
public protocol SessionStore: Sendable {
    /// - throws: ``AgentQError`` `.alreadyExists` when the ID is taken.
    func create(_ session: SessionRecord) throws
    func session(id: String) throws -> SessionRecord?
    /// Sessions whose ID starts with `prefix` (at most `limit`).
    func sessions(withPrefix prefix: String, limit: Int) throws -> [SessionRecord]
    /// Newest activity first.
    func sessions(agent: String?, status: SessionStatus?) throws -> [SessionRecord]
    /// One page of sessions, newest created first (a stable order: activity does not move a
    /// session between pages); the next page starts after the last ID of this one.
    ///
    /// ```swift
    /// let first = try store.sessions(page: SessionPage(limit: 100))
    /// let next = try store.sessions(page: SessionPage(after: first.last?.id, limit: 100))
    /// ```
    /// - throws: ``AgentQError`` `.invalidInput` when `after` names no session.
    func sessions(page: SessionPage) throws -> [SessionRecord]
    /// Sets (or, with nil, clears) the title.
    /// - returns: whether the session exists.
    @discardableResult
    func setTitle(_ title: String?, sessionID: String) throws -> Bool
    /// The messages after `afterSeq`, in order (what a turn added since).
    func messages(sessionID: String, afterSeq: Int) throws -> [SessionMessage]
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
