import GRDB
import JobQueue

/// Rate-limit state in the queue's database: `rate_limit_gates` holds when each endpoint
/// opens again, `rate_limit_spend` one row per call (and per token count) of the last minute,
/// a sliding window pruned as it is read. A budget check and its count are one short
/// `BEGIN IMMEDIATE` transaction, so two processes can never both take the last place.
///
/// ```swift
/// let limits = SQLiteRateLimitStore(database: queue.database)
/// let later = try limits.reserveCall(endpoint: key, requestsPerMinute: 60, tokensPerMinute: nil, now: .now)
/// ```
public final class SQLiteRateLimitStore: RateLimitStore {
    public let database: SQLiteDatabase
    /// The window budgets are counted over.
    static let windowMilliseconds: Int64 = 60_000

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-rate-limits-1", sql: """
            CREATE TABLE rate_limit_gates (
                endpoint TEXT PRIMARY KEY NOT NULL,
                closed_until INTEGER NOT NULL
            );
            CREATE TABLE rate_limit_spend (
                endpoint TEXT NOT NULL,
                at INTEGER NOT NULL,
                requests INTEGER NOT NULL,
                tokens INTEGER NOT NULL
            );
            CREATE INDEX rate_limit_spend_by_endpoint ON rate_limit_spend (endpoint, at);
            """),
    ]

    public func close(endpoint: String, until: Timestamp) throws {
        try database.pool.write { db in
            try db.execute(sql: """
                INSERT INTO rate_limit_gates (endpoint, closed_until) VALUES (?, ?)
                ON CONFLICT (endpoint) DO UPDATE SET closed_until = max(closed_until, excluded.closed_until)
                """, arguments: [endpoint, until.milliseconds])
        }
    }

    public func closedUntil(endpoint: String, now: Timestamp) throws -> Timestamp? {
        try database.pool.read { db in try Self.closedUntil(endpoint, now, db) }
    }

    public func reserveCall(endpoint: String, requestsPerMinute: Int?, tokensPerMinute: Int?, now: Timestamp) throws -> Timestamp? {
        try database.pool.writeWithoutTransaction { db in
            var later: Timestamp?
            // IMMEDIATE: the check and the count happen under the write lock, never on a stale read.
            try db.inTransaction(.immediate) {
                later = try Self.reserve(endpoint, requestsPerMinute, tokensPerMinute, now, db)
                return .commit
            }
            return later
        }
    }

    public func recordTokens(_ tokens: Int, endpoint: String, now: Timestamp) throws {
        guard tokens > 0 else { return }
        try database.pool.write { db in
            try db.execute(
                sql: "INSERT INTO rate_limit_spend (endpoint, at, requests, tokens) VALUES (?, ?, 0, ?)",
                arguments: [endpoint, now.milliseconds, tokens])
        }
    }

    private static func reserve(_ endpoint: String, _ requestsPerMinute: Int?, _ tokensPerMinute: Int?, _ now: Timestamp, _ db: Database)
        throws -> Timestamp?
    {
        if let closed = try closedUntil(endpoint, now, db) { return closed }
        try db.execute(
            sql: "DELETE FROM rate_limit_spend WHERE endpoint = ? AND at <= ?",
            arguments: [endpoint, now.milliseconds - windowMilliseconds])
        // A place frees up when the oldest entry of the window leaves it.
        if let requestsPerMinute,
            let row = try Row.fetchOne(
                db, sql: "SELECT count(*), min(at) FROM rate_limit_spend WHERE endpoint = ? AND requests > 0", arguments: [endpoint]),
            let count: Int = row[0], count >= requestsPerMinute, let oldest: Int64 = row[1]
        {
            return Timestamp(milliseconds: oldest + windowMilliseconds)
        }
        if let tokensPerMinute,
            let row = try Row.fetchOne(
                db, sql: "SELECT total(tokens), min(at) FROM rate_limit_spend WHERE endpoint = ? AND tokens > 0", arguments: [endpoint]),
            let spent: Double = row[0], spent >= Double(tokensPerMinute), let oldest: Int64 = row[1]
        {
            return Timestamp(milliseconds: oldest + windowMilliseconds)
        }
        if requestsPerMinute != nil {
            try db.execute(
                sql: "INSERT INTO rate_limit_spend (endpoint, at, requests, tokens) VALUES (?, ?, 1, 0)",
                arguments: [endpoint, now.milliseconds])
        }
        return nil
    }

    private static func closedUntil(_ endpoint: String, _ now: Timestamp, _ db: Database) throws -> Timestamp? {
        try Int64.fetchOne(
            db, sql: "SELECT closed_until FROM rate_limit_gates WHERE endpoint = ? AND closed_until > ?",
            arguments: [endpoint, now.milliseconds]
        ).map(Timestamp.init(milliseconds:))
    }
}
