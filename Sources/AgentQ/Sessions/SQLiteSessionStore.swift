import Foundation
import GRDB
import JobQueue

/// Sessions and their transcripts in the queue's database.
///
/// ```swift
/// let sessions = SQLiteSessionStore(database: database)
/// try sessions.create(SessionRecord(id: SessionRecord.makeID(), agent: "echo", ...))
/// ```
public final class SQLiteSessionStore: SessionStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-2-sessions", sql: """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY NOT NULL,
                agent TEXT NOT NULL,
                title TEXT,
                status TEXT NOT NULL,
                workdir TEXT NOT NULL,
                managed_workdir INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                last_active_at INTEGER NOT NULL,
                message_count INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX sessions_last_active ON sessions (last_active_at);
            CREATE TABLE session_messages (
                session_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                job_id TEXT,
                role TEXT NOT NULL,
                content TEXT NOT NULL,
                tool_calls TEXT,
                tool_call_id TEXT,
                tool_name TEXT,
                is_error INTEGER NOT NULL DEFAULT 0,
                input_tokens INTEGER NOT NULL DEFAULT 0,
                output_tokens INTEGER NOT NULL DEFAULT 0,
                duration_ms INTEGER,
                created_at INTEGER NOT NULL,
                PRIMARY KEY (session_id, seq)
            );
            """),
        SQLiteMigration("agentq-3-message-usage-details", sql: """
            ALTER TABLE session_messages ADD COLUMN cached_input_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE session_messages ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE session_messages ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE session_messages ADD COLUMN cost_usd REAL NOT NULL DEFAULT 0;
            """),
        // The host whose workspace holds the session (NULL: unknown or any).
        SQLiteMigration("agentq-sessions-host", sql: "ALTER TABLE sessions ADD COLUMN host TEXT;"),
    ]

    /// Keyset paging walks this index newest first (see ``sessions(page:)``).
    public static let pagingMigration = SQLiteMigration("agentq-sessions-paging-index", sql: """
        CREATE INDEX IF NOT EXISTS sessions_created ON sessions (created_at, id);
        """)

    static let columns = "id, agent, title, status, workdir, managed_workdir, created_at, last_active_at, message_count, host"

    static func record(_ row: Row) -> SessionRecord {
        SessionRecord(
            id: row[0], agent: row[1], title: row[2], status: SessionStatus(rawValue: row[3]) ?? .error,
            workdir: row[4], managedWorkdir: row[5], createdAt: Timestamp(milliseconds: row[6]),
            lastActiveAt: Timestamp(milliseconds: row[7]), messageCount: row[8], host: row[9])
    }

    public func create(_ session: SessionRecord) throws {
        try database.write(retryTransient: true) { db, _ in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)", arguments: [session.id]) == true {
                throw AgentQError(.alreadyExists, "a session with ID '\(session.id)' already exists")
            }
            try db.execute(
                sql: "INSERT INTO sessions (\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    session.id, session.agent, session.title, session.status.rawValue, session.workdir,
                    session.managedWorkdir, session.createdAt.milliseconds, session.lastActiveAt.milliseconds,
                    session.messageCount, session.host,
                ])
        }
    }

    public func session(id: String) throws -> SessionRecord? {
        try database.read(retryTransient: true) { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM sessions WHERE id = ?", arguments: [id]).map(Self.record)
        }
    }

    public func sessions(withPrefix prefix: String, limit: Int) throws -> [SessionRecord] {
        // Range instead of LIKE: no wildcard escaping, and it walks the primary key.
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM sessions WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
                arguments: [prefix, prefix + "\u{10FFFF}", limit]
            ).map(Self.record)
        }
    }

    public func sessions(agent: String?, status: SessionStatus?) throws -> [SessionRecord] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM sessions
                WHERE (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR status = ?2)
                ORDER BY last_active_at DESC, id
                """, arguments: [agent, status?.rawValue]
            ).map(Self.record)
        }
    }

    public func sessions(page: SessionPage) throws -> [SessionRecord] {
        try database.read(retryTransient: true) { db in
            var conditions = ["(?1 IS NULL OR agent = ?1)", "(?2 IS NULL OR status = ?2)"]
            var arguments: StatementArguments = [page.agent, page.status?.rawValue, page.limit]
            if let after = page.after {
                guard let createdAt = try Int64.fetchOne(db, sql: "SELECT created_at FROM sessions WHERE id = ?", arguments: [after])
                else {
                    throw AgentQError(
                        .invalidInput, "no session '\(after)' to list after (after= takes the last session_id of the previous page)")
                }
                // A row value: the index is entered at the cursor instead of scanned up to it.
                conditions.append("(created_at, id) < (?4, ?5)")
                _ = arguments.append(contentsOf: [createdAt, after])
            }
            // Newest created first; a creation time never changes, so neither does a session's
            // place in the order (last activity would move sessions between pages).
            return try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM sessions WHERE \(conditions.joined(separator: " AND "))
                ORDER BY created_at DESC, id DESC LIMIT ?3
                """, arguments: arguments
            ).map(Self.record)
        }
    }

    public func setTitle(_ title: String?, sessionID: String) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "UPDATE sessions SET title = ? WHERE id = ?", arguments: [title, sessionID])
            return db.changesCount > 0
        }
    }

    public func setStatus(_ status: SessionStatus, sessionID: String, from: Set<SessionStatus>?) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            if let from {
                let allowed = from.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                try db.execute(
                    sql: "UPDATE sessions SET status = ? WHERE id = ? AND status IN (\(allowed))",
                    arguments: [status.rawValue, sessionID])
            } else {
                try db.execute(sql: "UPDATE sessions SET status = ? WHERE id = ?", arguments: [status.rawValue, sessionID])
            }
            return db.changesCount > 0
        }
    }

    public func append(_ message: SessionMessage, sessionID: String) throws -> SessionMessage {
        try database.write(retryTransient: true) { db, _ in
            let next = (try Int.fetchOne(
                db, sql: "SELECT MAX(seq) FROM session_messages WHERE session_id = ?", arguments: [sessionID]) ?? 0) + 1
            var stored = message
            stored.seq = next
            let calls = message.message.toolCalls.isEmpty
                ? nil : String(decoding: try JSONEncoder().encode(message.message.toolCalls), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO session_messages (session_id, seq, job_id, role, content, tool_calls, tool_call_id, tool_name,
                    is_error, input_tokens, output_tokens, duration_ms, created_at, cached_input_tokens, cache_write_tokens,
                    reasoning_tokens, cost_usd)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    sessionID, next, message.jobID, message.message.role.rawValue, message.message.content, calls,
                    message.message.toolCallID, message.message.toolName, message.message.isError,
                    message.usage.inputTokens, message.usage.outputTokens, message.durationMilliseconds,
                    message.createdAt.milliseconds, message.usage.cachedInputTokens, message.usage.cacheWriteTokens,
                    message.usage.reasoningTokens, message.usage.costUSD,
                ])
            try db.execute(
                sql: "UPDATE sessions SET message_count = message_count + 1, last_active_at = ? WHERE id = ?",
                arguments: [message.createdAt.milliseconds, sessionID])
            return stored
        }
    }

    static let messageColumns = """
        seq, job_id, role, content, tool_calls, tool_call_id, tool_name, is_error, input_tokens,
        output_tokens, duration_ms, created_at, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd
        """

    public func messages(sessionID: String, last: Int?) throws -> [SessionMessage] {
        try database.read(retryTransient: true) { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(Self.messageColumns)
                FROM session_messages WHERE session_id = ? ORDER BY seq DESC LIMIT ?
                """, arguments: [sessionID, last ?? -1])
            return try rows.reversed().map(Self.message)
        }
    }

    public func messages(sessionID: String, afterSeq: Int) throws -> [SessionMessage] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.messageColumns)
                FROM session_messages WHERE session_id = ? AND seq > ? ORDER BY seq
                """, arguments: [sessionID, afterSeq]
            ).map(Self.message)
        }
    }

    static func message(_ row: Row) throws -> SessionMessage {
        let callsText: String? = row[4]
        let calls = try callsText.map { try JSONDecoder().decode([ToolCall].self, from: Data($0.utf8)) } ?? []
        let role = ChatMessage.Role(rawValue: row[2]) ?? .user
        return SessionMessage(
            seq: row[0], jobID: row[1],
            message: ChatMessage(
                role: role, content: row[3], toolCalls: calls, toolCallID: row[5], toolName: row[6],
                isError: row[7]),
            usage: TokenUsage(
                inputTokens: row[8], outputTokens: row[9], cachedInputTokens: row[12], cacheWriteTokens: row[13],
                reasoningTokens: row[14], costUSD: row[15]),
            durationMilliseconds: row[10],
            createdAt: Timestamp(milliseconds: row[11]))
    }

    public func expireIdleSessions(now: Timestamp, timeoutMilliseconds: (String) -> Int64) throws -> [SessionRecord] {
        let idle = try sessions(agent: nil, status: .idle)
        var expired: [SessionRecord] = []
        for session in idle where now.milliseconds - session.lastActiveAt.milliseconds > timeoutMilliseconds(session.agent) {
            let changed = try database.write(retryTransient: true) { db, _ in
                // Only if it is still idle and was not touched meanwhile.
                try db.execute(
                    sql: "UPDATE sessions SET status = 'timeout' WHERE id = ? AND status = 'idle' AND last_active_at = ?",
                    arguments: [session.id, session.lastActiveAt.milliseconds])
                return db.changesCount > 0
            }
            if changed {
                var closed = session
                closed.status = .timeout
                expired.append(closed)
            }
        }
        return expired
    }
}

// MARK: - Retention

extension SQLiteSessionStore {
    /// Messages deleted per transaction when a long history is pruned.
    static let pruneMessagesPerTransaction = 2000

    /// Sessions that are over and were last active before `?`.
    static let closed = "status IN ('ended', 'timeout') AND last_active_at < ?"

    static let messageBytes = """
        (LENGTH(CAST(content AS BLOB)) + IFNULL(LENGTH(CAST(tool_calls AS BLOB)), 0) + 80)
        """

    public func pruneClosedSessions(endedBefore: Timestamp, dryRun: Bool) throws -> SessionPruneReport {
        let cutoff = endedBefore.milliseconds
        var report = SessionPruneReport()
        if dryRun {
            return try database.read(retryTransient: true) { db in
                report.sessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sessions WHERE \(Self.closed)", arguments: [cutoff]) ?? 0
                let row = try Row.fetchOne(db, sql: """
                    SELECT COUNT(*), IFNULL(SUM(\(Self.messageBytes)), 0) FROM session_messages
                    WHERE session_id IN (SELECT id FROM sessions WHERE \(Self.closed))
                    """, arguments: [cutoff])
                report.messages = row?[0] ?? 0
                report.bytes = (row?[1] ?? 0) + Int64(report.sessions) * 200
                return report
            }
        }
        let ids = try database.read(retryTransient: true) { db in
            try String.fetchAll(db, sql: "SELECT id FROM sessions WHERE \(Self.closed)", arguments: [cutoff])
        }
        for id in ids {
            // The row first (checked again: a timed-out session may have been resumed since),
            // then its history in chunks: a pruned ID cannot be resumed half-deleted.
            let (removed, hold) = try database.timedWrite { db in
                try db.execute(sql: "DELETE FROM sessions WHERE id = ? AND \(Self.closed)", arguments: [id, cutoff])
                return db.changesCount > 0
            }
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
            guard removed else { continue }
            report.sessions += 1
            report.bytes += 200
            try deleteMessages(sessionID: id, report: &report)
        }
        return report
    }

    private func deleteMessages(sessionID: String, report: inout SessionPruneReport) throws {
        while true {
            let (deleted, hold) = try database.timedWrite { db -> (Int, Int64) in
                let bytes = try Int64.fetchAll(db, sql: """
                    DELETE FROM session_messages WHERE rowid IN (
                        SELECT rowid FROM session_messages WHERE session_id = ? LIMIT ?)
                    RETURNING \(Self.messageBytes)
                    """, arguments: [sessionID, Self.pruneMessagesPerTransaction])
                return (bytes.count, bytes.reduce(0, +))
            }
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
            report.messages += deleted.0
            report.bytes += deleted.1
            if deleted.0 < Self.pruneMessagesPerTransaction { return }
        }
    }

    public func countsByStatus() throws -> [SessionStatus: Int] {
        try database.read(retryTransient: true) { db in
            var counts: [SessionStatus: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM sessions GROUP BY status") {
                if let status = SessionStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
    }
}
