import JobQueue
import PostgresNIO

/// Rate-limit state in PostgreSQL, shared by every host: ``SQLiteRateLimitStore``'s tables
/// and sliding window, with each endpoint's gate row as the lock that makes a budget check
/// and its count one step across hosts.
///
/// Times are kept on the database's clock (``JobQueue/PGDatabase/databaseTime(for:)``): a
/// closure written by one host and a window counted by another agree whatever the hosts'
/// clocks say; what the store returns is moved back onto the caller's clock.
///
/// ```swift
/// let limits = PostgresRateLimitStore(database: database)
/// let later = try limits.reserveCall(endpoint: key, requestsPerMinute: 60, tokensPerMinute: nil, now: .now)
/// ```
public final class PostgresRateLimitStore: RateLimitStore {
    public let database: PGDatabase
    /// The window budgets are counted over.
    static let windowMilliseconds: Int64 = 60_000

    public init(database: PGDatabase) { self.database = database }

    public static let migrations: [PGMigration] = [
        .statements("ratelimits-1-tables", """
            CREATE TABLE rate_limit_gates (
                endpoint text PRIMARY KEY,
                closed_until bigint NOT NULL
            );
            CREATE TABLE rate_limit_spend (
                endpoint text NOT NULL,
                at bigint NOT NULL,
                requests integer NOT NULL,
                tokens bigint NOT NULL
            );
            CREATE INDEX rate_limit_spend_by_endpoint ON rate_limit_spend (endpoint, at);
            """),
    ]

    /// How far the database's clock is ahead of this host's, in milliseconds.
    private func offset(_ now: Timestamp) -> Int64 {
        database.databaseTime(for: now).milliseconds - now.milliseconds
    }

    public func close(endpoint: String, until: Timestamp) throws {
        let until = database.databaseTime(for: until).milliseconds
        try database.write { connection in
            try connection.execute("""
                INSERT INTO rate_limit_gates (endpoint, closed_until) VALUES (\(endpoint), \(until))
                ON CONFLICT (endpoint) DO UPDATE SET closed_until = greatest(rate_limit_gates.closed_until, excluded.closed_until)
                """)
        }
    }

    public func closedUntil(endpoint: String, now: Timestamp) throws -> Timestamp? {
        let offset = offset(now)
        return try database.read { connection in
            try connection.scalar("""
                SELECT closed_until FROM rate_limit_gates WHERE endpoint = \(endpoint) AND closed_until > \(now.milliseconds + offset)
                """, as: Int64.self)
        }.map { Timestamp(milliseconds: $0 - offset) }
    }

    public func reserveCall(endpoint: String, requestsPerMinute: Int?, tokensPerMinute: Int?, now: Timestamp) throws -> Timestamp? {
        let offset = offset(now)
        let now = now.milliseconds + offset
        let later: Int64? = try database.write { connection in
            // The gate row, created open when missing, locked until commit: a second host
            // reserving on this endpoint waits here, then counts what this one added. Without
            // the lock two hosts both count one place left and both take it.
            let closedUntil = try connection.scalar("""
                INSERT INTO rate_limit_gates (endpoint, closed_until) VALUES (\(endpoint), 0)
                ON CONFLICT (endpoint) DO UPDATE SET closed_until = rate_limit_gates.closed_until
                RETURNING closed_until
                """, as: Int64.self) ?? 0
            if closedUntil > now { return closedUntil }
            try connection.execute("DELETE FROM rate_limit_spend WHERE endpoint = \(endpoint) AND at <= \(now - Self.windowMilliseconds)")
            // A place frees up when the oldest entry of the window leaves it.
            if let requestsPerMinute, let row = try connection.query("""
                SELECT count(*)::bigint, min(at) FROM rate_limit_spend WHERE endpoint = \(endpoint) AND requests > 0
                """).first {
                let (count, oldest) = try row.decode((Int, Int64?).self)
                if count >= requestsPerMinute, let oldest { return oldest + Self.windowMilliseconds }
            }
            if let tokensPerMinute, let row = try connection.query("""
                SELECT coalesce(sum(tokens), 0)::bigint, min(at) FROM rate_limit_spend WHERE endpoint = \(endpoint) AND tokens > 0
                """).first {
                let (spent, oldest) = try row.decode((Int64, Int64?).self)
                if spent >= Int64(tokensPerMinute), let oldest { return oldest + Self.windowMilliseconds }
            }
            if requestsPerMinute != nil {
                try connection.execute("INSERT INTO rate_limit_spend (endpoint, at, requests, tokens) VALUES (\(endpoint), \(now), 1, 0)")
            }
            return nil
        }
        return later.map { Timestamp(milliseconds: $0 - offset) }
    }

    public func recordTokens(_ tokens: Int, endpoint: String, now: Timestamp) throws {
        guard tokens > 0 else { return }
        let at = database.databaseTime(for: now).milliseconds
        try database.write { connection in
            try connection.execute("INSERT INTO rate_limit_spend (endpoint, at, requests, tokens) VALUES (\(endpoint), \(at), 0, \(tokens))")
        }
    }
}
