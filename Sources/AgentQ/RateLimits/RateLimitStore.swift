import JobQueue

/// Where the rate-limit state of provider endpoints lives so that every agentq process on a
/// home shares it: when an endpoint is closed (a 429 asked to wait) and what was spent on it
/// in the last minute. ``SQLiteRateLimitStore`` keeps it in the home's database.
///
/// Endpoints are keys from ``RateLimitGate/endpointKey(_:)``: a base URL without user,
/// password, query or fragment, so no secret is ever stored.
///
/// ```swift
/// let limits = SQLiteRateLimitStore(database: database)
/// try limits.close(endpoint: "https://api.openai.com/v1", until: Timestamp.now.adding(milliseconds: 2000))
/// if let later = try limits.reserveCall(endpoint: key, requestsPerMinute: 500, tokensPerMinute: nil, now: .now) { … }
/// ```
public protocol RateLimitStore: Sendable {
    /// Keeps every process away from `endpoint` until `until`; never shortens an earlier closure.
    /// - throws: a ``JobQueue/StoreError`` or database error when the state cannot be written.
    func close(endpoint: String, until: Timestamp) throws

    /// When `endpoint` opens again, or nil when it is open at `now`.
    /// - throws: a database error when the state cannot be read.
    func closedUntil(endpoint: String, now: Timestamp) throws -> Timestamp?

    /// Takes one call's place in the endpoint's budgets, atomically across processes: when the
    /// endpoint is open and the last minute's calls (`requestsPerMinute`) and tokens
    /// (`tokensPerMinute`) leave room, counts the call and returns nil; otherwise counts
    /// nothing and returns when to ask again.
    /// - throws: a database error when the state cannot be read or written.
    func reserveCall(endpoint: String, requestsPerMinute: Int?, tokensPerMinute: Int?, now: Timestamp) throws -> Timestamp?

    /// Counts the tokens a call used against the endpoint's tokens-per-minute budget.
    /// - throws: a database error when the state cannot be written.
    func recordTokens(_ tokens: Int, endpoint: String, now: Timestamp) throws
}
