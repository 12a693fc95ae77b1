import Foundation
import JobQueue
import PostgresNIO

/// Sessions and their transcripts in PostgreSQL: ``SQLiteSessionStore`` for many hosts on one
/// database.
///
/// Times are stored on the database's clock (``JobQueue/PGDatabase/databaseTime(for:)``), so
/// idle expiry compares activity written by any host with a `now` on the same clock. An
/// append locks its session's row, so appends from many threads and hosts number the
/// messages 1, 2, 3… with no duplicate and no gap.
///
/// ```swift
/// let database = try PGDatabase(location: PostgresLocation(url: url), migrations: PostgresSessionStore.migrations)
/// let sessions = PostgresSessionStore(database: database)
/// try sessions.create(SessionRecord(id: SessionRecord.makeID(), agent: "echo", ...))
/// ```
public final class PostgresSessionStore: SessionStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    /// IDs are `COLLATE "C"`: they sort by their bytes, as in SQLite, and a prefix is a range of the key.
    public static let migrations: [PGMigration] = [
        .statements("sessions-1-tables", """
            CREATE TABLE sessions (
                id text COLLATE "C" PRIMARY KEY,
                agent text NOT NULL,
                title text,
                status text NOT NULL,
                workdir text NOT NULL,
                managed_workdir boolean NOT NULL,
                created_at bigint NOT NULL,
                last_active_at bigint NOT NULL,
                message_count integer NOT NULL DEFAULT 0,
                host text
            );
            CREATE INDEX sessions_last_active ON sessions (last_active_at);
            -- Keyset paging walks this index newest first (see sessions(page:)).
            CREATE INDEX sessions_created ON sessions (created_at, id);
            CREATE TABLE session_messages (
                session_id text COLLATE "C" NOT NULL,
                seq integer NOT NULL,
                job_id text,
                role text NOT NULL,
                content text NOT NULL,
                tool_calls text,
                tool_call_id text,
                tool_name text,
                is_error boolean NOT NULL DEFAULT false,
                input_tokens bigint NOT NULL DEFAULT 0,
                output_tokens bigint NOT NULL DEFAULT 0,
                duration_ms bigint,
                created_at bigint NOT NULL,
                cached_input_tokens bigint NOT NULL DEFAULT 0,
                cache_write_tokens bigint NOT NULL DEFAULT 0,
                reasoning_tokens bigint NOT NULL DEFAULT 0,
                cost_usd double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (session_id, seq)
            );
            """),
    ]

    static let columns = "id, agent, title, status, workdir, managed_workdir, created_at, last_active_at, message_count, host"

    static func record(_ row: PostgresRow) throws -> SessionRecord {
        let (id, agent, title, status, workdir, managed, createdAt, lastActiveAt, count, host) = try row.decode(
            (String, String, String?, String, String, Bool, Int64, Int64, Int, String?).self)
        return SessionRecord(
            id: id, agent: agent, title: title, status: SessionStatus(rawValue: status) ?? .error, workdir: workdir,
            managedWorkdir: managed, createdAt: Timestamp(milliseconds: createdAt),
            lastActiveAt: Timestamp(milliseconds: lastActiveAt), messageCount: count, host: host)
    }

    public func create(_ session: SessionRecord) throws {
        let createdAt = database.databaseTime(for: session.createdAt).milliseconds
        let lastActiveAt = database.databaseTime(for: session.lastActiveAt).milliseconds
        try database.write { connection in
            // ON CONFLICT: two hosts creating one ID at once get one row and one clear error.
            let inserted = try connection.execute("""
                INSERT INTO sessions (\(unescaped: Self.columns))
                VALUES (\(session.id), \(session.agent), \(session.title), \(session.status.rawValue), \(session.workdir),
                        \(session.managedWorkdir), \(createdAt), \(lastActiveAt), \(session.messageCount), \(session.host))
                ON CONFLICT (id) DO NOTHING
                """)
            if inserted == 0 {
                throw AgentQError(.alreadyExists, "a session with ID '\(session.id)' already exists")
            }
        }
    }

    public func session(id: String) throws -> SessionRecord? {
        try database.read { connection in
            try connection.query("SELECT \(unescaped: Self.columns) FROM sessions WHERE id = \(id)").first.map(Self.record)
        }
    }

    public func sessions(withPrefix prefix: String, limit: Int) throws -> [SessionRecord] {
        // Range instead of LIKE: no wildcard escaping, and it walks the primary key.
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.columns) FROM sessions WHERE id >= \(prefix) AND id < \(prefix + "\u{10FFFF}")
                ORDER BY id LIMIT \(limit)
                """).map(Self.record)
        }
    }

    public func sessions(agent: String?, status: SessionStatus?) throws -> [SessionRecord] {
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.columns) FROM sessions
                WHERE (\(agent)::text IS NULL OR agent = \(agent)) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                ORDER BY last_active_at DESC, id
                """).map(Self.record)
        }
    }

    public func sessions(page: SessionPage) throws -> [SessionRecord] {
        try database.read { connection in
            var cursor: (createdAt: Int64, id: String)?
            if let after = page.after {
                guard let createdAt = try connection.scalar("SELECT created_at FROM sessions WHERE id = \(after)", as: Int64.self)
                else {
                    throw AgentQError(
                        .invalidInput, "no session '\(after)' to list after (after= takes the last session_id of the previous page)")
                }
                cursor = (createdAt, after)
            }
            // Newest created first; a creation time never changes, so neither does a session's
            // place in the order. With no cursor, the row value compares with the largest key.
            let (createdAt, id) = cursor ?? (Int64.max, "\u{10FFFF}")
            return try connection.query("""
                SELECT \(unescaped: Self.columns) FROM sessions
                WHERE (\(page.agent)::text IS NULL OR agent = \(page.agent))
                  AND (\(page.status?.rawValue)::text IS NULL OR status = \(page.status?.rawValue))
                  AND (created_at, id) < (\(createdAt), \(id))
                ORDER BY created_at DESC, id DESC LIMIT \(page.limit)
                """).map(Self.record)
        }
    }

    public func setTitle(_ title: String?, sessionID: String) throws -> Bool {
        try database.write { connection in
            try connection.execute("UPDATE sessions SET title = \(title) WHERE id = \(sessionID)") > 0
        }
    }

    public func setStatus(_ status: SessionStatus, sessionID: String, from: Set<SessionStatus>?) throws -> Bool {
        try database.write { connection in
            if let from {
                let allowed = from.map(\.rawValue)
                return try connection.execute(
                    "UPDATE sessions SET status = \(status.rawValue) WHERE id = \(sessionID) AND status = ANY(\(allowed))") > 0
            }
            return try connection.execute("UPDATE sessions SET status = \(status.rawValue) WHERE id = \(sessionID)") > 0
        }
    }

    public func append(_ message: SessionMessage, sessionID: String) throws -> SessionMessage {
        let createdAt = database.databaseTime(for: message.createdAt).milliseconds
        let calls = message.message.toolCalls.isEmpty
            ? nil : String(decoding: try JSONEncoder().encode(message.message.toolCalls), as: UTF8.self)
        return try database.write { connection in
            // The session's row lock orders appends from every host: the next one waits here
            // until this one commits, and its max(seq) (a new snapshot per statement under
            // READ COMMITTED) then sees this message. Without it two appends read the same
            // max(seq) and one fails on the (session_id, seq) key.
            try connection.query("SELECT 1 FROM sessions WHERE id = \(sessionID) FOR UPDATE")
            let next = (try connection.scalar(
                "SELECT max(seq) FROM session_messages WHERE session_id = \(sessionID)", as: Int.self) ?? 0) + 1
            try connection.execute("""
                INSERT INTO session_messages (session_id, seq, job_id, role, content, tool_calls, tool_call_id, tool_name,
                    is_error, input_tokens, output_tokens, duration_ms, created_at, cached_input_tokens, cache_write_tokens,
                    reasoning_tokens, cost_usd)
                VALUES (\(sessionID), \(next), \(message.jobID), \(message.message.role.rawValue), \(message.message.content),
                    \(calls), \(message.message.toolCallID), \(message.message.toolName), \(message.message.isError),
                    \(message.usage.inputTokens), \(message.usage.outputTokens), \(message.durationMilliseconds), \(createdAt),
                    \(message.usage.cachedInputTokens), \(message.usage.cacheWriteTokens), \(message.usage.reasoningTokens),
                    \(message.usage.costUSD))
                """)
            try connection.execute(
                "UPDATE sessions SET message_count = message_count + 1, last_active_at = \(createdAt) WHERE id = \(sessionID)")
            var stored = message
            stored.seq = next
            stored.createdAt = Timestamp(milliseconds: createdAt)
            return stored
        }
    }

    static let messageColumns = """
        seq, job_id, role, content, tool_calls, tool_call_id, tool_name, is_error, input_tokens,
        output_tokens, duration_ms, created_at, cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_usd
        """

    public func messages(sessionID: String, last: Int?) throws -> [SessionMessage] {
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.messageColumns)
                FROM session_messages WHERE session_id = \(sessionID) ORDER BY seq DESC LIMIT \(last)
                """).reversed().map(Self.message)
        }
    }

    public func messages(sessionID: String, afterSeq: Int) throws -> [SessionMessage] {
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.messageColumns)
                FROM session_messages WHERE session_id = \(sessionID) AND seq > \(afterSeq) ORDER BY seq
                """).map(Self.message)
        }
    }

    static func message(_ row: PostgresRow) throws -> SessionMessage {
        let (seq, jobID, role, content, callsText, toolCallID, toolName, isError, input, output, duration, createdAt,
             cached, cacheWrite, reasoning, cost) = try row.decode(
            (Int, String?, String, String, String?, String?, String?, Bool, Int, Int, Int?, Int64, Int, Int, Int, Double).self)
        let calls = try callsText.map { try JSONDecoder().decode([ToolCall].self, from: Data($0.utf8)) } ?? []
        return SessionMessage(
            seq: seq, jobID: jobID,
            message: ChatMessage(
                role: ChatMessage.Role(rawValue: role) ?? .user, content: content, toolCalls: calls, toolCallID: toolCallID,
                toolName: toolName, isError: isError),
            usage: TokenUsage(
                inputTokens: input, outputTokens: output, cachedInputTokens: cached, cacheWriteTokens: cacheWrite,
                reasoningTokens: reasoning, costUSD: cost),
            durationMilliseconds: duration,
            createdAt: Timestamp(milliseconds: createdAt))
    }

    public func expireIdleSessions(now: Timestamp, timeoutMilliseconds: (String) -> Int64) throws -> [SessionRecord] {
        let now = database.databaseTime(for: now)
        let idle = try sessions(agent: nil, status: .idle)
        var expired: [SessionRecord] = []
        for session in idle where now.milliseconds - session.lastActiveAt.milliseconds > timeoutMilliseconds(session.agent) {
            let changed = try database.write { connection in
                // Only if it is still idle and was not touched meanwhile (by any host).
                try connection.execute("""
                    UPDATE sessions SET status = 'timeout'
                    WHERE id = \(session.id) AND status = 'idle' AND last_active_at = \(session.lastActiveAt.milliseconds)
                    """) > 0
            }
            if changed {
                var closed = session
                closed.status = .timeout
                expired.append(closed)
            }
        }
        return expired
    }

    /// Messages deleted per transaction when a long history is pruned.
    static let pruneMessagesPerTransaction = 2000

    static let messageBytes = "(octet_length(content) + coalesce(octet_length(tool_calls), 0) + 80)"

    public func pruneClosedSessions(endedBefore: Timestamp, dryRun: Bool) throws -> SessionPruneReport {
        let cutoff = database.databaseTime(for: endedBefore).milliseconds
        var report = SessionPruneReport()
        if dryRun {
            return try database.read { connection in
                report.sessions = try connection.scalar("""
                    SELECT count(*)::bigint FROM sessions WHERE status IN ('ended', 'timeout') AND last_active_at < \(cutoff)
                    """, as: Int.self) ?? 0
                if let row = try connection.query("""
                    SELECT count(*)::bigint, coalesce(sum(\(unescaped: Self.messageBytes)), 0)::bigint FROM session_messages
                    WHERE session_id IN (SELECT id FROM sessions WHERE status IN ('ended', 'timeout') AND last_active_at < \(cutoff))
                    """).first {
                    let (messages, bytes) = try row.decode((Int, Int64).self)
                    report.messages = messages
                    report.bytes = bytes + Int64(report.sessions) * 200
                }
                return report
            }
        }
        let ids = try database.read { connection in
            try connection.query("""
                SELECT id FROM sessions WHERE status IN ('ended', 'timeout') AND last_active_at < \(cutoff)
                """).map { try $0.decode(String.self) }
        }
        for id in ids {
            // The row first (checked again: a timed-out session may have been resumed since),
            // then its history in chunks: a pruned ID cannot be resumed half-deleted.
            let (removed, hold) = try timedWrite { connection in
                try connection.execute("""
                    DELETE FROM sessions WHERE id = \(id) AND status IN ('ended', 'timeout') AND last_active_at < \(cutoff)
                    """) > 0
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
            let ((count, bytes), hold) = try timedWrite { connection -> (Int, Int64) in
                let bytes = try connection.query("""
                    DELETE FROM session_messages WHERE session_id = \(sessionID) AND seq IN (
                        SELECT seq FROM session_messages WHERE session_id = \(sessionID) LIMIT \(Self.pruneMessagesPerTransaction))
                    RETURNING \(unescaped: Self.messageBytes)::bigint
                    """).map { try $0.decode(Int64.self) }
                return (bytes.count, bytes.reduce(0, +))
            }
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
            report.messages += count
            report.bytes += bytes
            if count < Self.pruneMessagesPerTransaction { return }
        }
    }

    /// One write transaction and how long it took, in milliseconds (the prune report's figure).
    private func timedWrite<T>(_ body: (PGConnection) throws -> T) throws -> (T, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try database.write(body)
        return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
    }

    public func countsByStatus() throws -> [SessionStatus: Int] {
        try database.read { connection in
            var counts: [SessionStatus: Int] = [:]
            for row in try connection.query("SELECT status, count(*)::bigint FROM sessions GROUP BY status") {
                let (status, count) = try row.decode((String, Int).self)
                if let status = SessionStatus(rawValue: status) { counts[status] = count }
            }
            return counts
        }
    }
}
