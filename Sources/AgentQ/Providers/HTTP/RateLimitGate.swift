import Foundation
import JobQueue

/// Shared pacing for one provider endpoint: every worker waits here before calling it. One
/// 429 with `retry-after` closes the gate for everyone until it passes, instead of each
/// worker hammering on its own; optional requests- and tokens-per-minute budgets spread calls
/// out.
///
/// In-process state is the fast path (threads of one process that know the gate is closed
/// sleep without asking anyone); with a ``RateLimitStore`` the home's database is the truth
/// across processes: a 429 seen by one process closes the endpoint for all of them, and the
/// budgets count every process's calls. When the store cannot be reached, the in-process
/// pacing still applies, so a locked database never fails a model call.
///
/// ```swift
/// let gate = RateLimitGate.forEndpoint("https://api.openai.com/v1")
/// try await gate.waitForTurn(requestsPerMinute: 500, tokensPerMinute: nil, shared: limits, token: token, threads: threads)
/// gate.close(forMilliseconds: 2000, shared: limits)
/// ```
public final class RateLimitGate: @unchecked Sendable {
    private static let registry = Locked<[String: RateLimitGate]>([:])

    /// The gate of an endpoint (one per endpoint key in this process).
    public static func forEndpoint(_ baseURL: String) -> RateLimitGate {
        // By the base URL as written first: parsing it (URLComponents) on every call cost more
        // than the rest of the gate.
        byBaseURL.value(for: baseURL, limit: 256) {
            let key = endpointKey(baseURL)
            return registry.value(for: key) { RateLimitGate(endpoint: key) }
        }
    }

    private static let byBaseURL = Locked<[String: RateLimitGate]>([:])

    /// The endpoint a base URL names, safe to store: scheme, host, port and path, without the
    /// user, password, query or fragment a URL can carry a secret in.
    ///
    /// ```swift
    /// RateLimitGate.endpointKey("https://u:pw@API.example.com/v1/?key=sk-1")   // "https://api.example.com/v1"
    /// ```
    public static func endpointKey(_ baseURL: String) -> String {
        guard var components = URLComponents(string: baseURL), let host = components.host else { return "invalid-url" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        components.scheme = components.scheme?.lowercased()
        components.host = host.lowercased()
        var text = components.string ?? "invalid-url"
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    /// The key the endpoint's shared state is stored under.
    public let endpoint: String
    private let lock = NSLock()
    private var closedUntil = Date.distantPast
    /// What the shared store last said: nobody in this process asks it again before then.
    private var sharedWaitUntil = Date.distantPast
    /// The shared store said the endpoint is open: with no budget to reserve, nobody in this
    /// process asks it again before then. A call each asked the database, which was a fifth of
    /// a worker's CPU at a thousand calls in flight; another process's 429 now reaches this one
    /// within ``sharedOpenMilliseconds`` instead of at once.
    private var sharedOpenUntil = Date.distantPast
    static let sharedOpenMilliseconds = 100
    private var requestTimes: [Date] = []
    private var tokenSpend: [(at: Date, tokens: Int)] = []

    public init(endpoint: String = "") {
        self.endpoint = endpoint
    }

    /// Keeps every caller out until `milliseconds` from now (never shortens an earlier
    /// closure): this process's callers, and with `shared`, every process's.
    public func close(forMilliseconds milliseconds: Int64, shared: (any RateLimitStore)? = nil) {
        let until = Date().addingTimeInterval(Double(milliseconds) / 1000)
        lock.lock()
        closedUntil = max(closedUntil, until)
        lock.unlock()
        // Best effort: this process is closed either way.
        try? shared?.close(endpoint: endpoint, until: Timestamp(date: until))
    }

    /// When the gate opens again in this process (in the past when it is open).
    public var opensAt: Date {
        lock.lock()
        defer { lock.unlock() }
        return max(closedUntil, sharedWaitUntil)
    }

    /// Waits until the gate is open and the minute's budgets allow one more call, then counts it.
    /// The wait holds no thread; the shared store is asked on `threads`.
    /// - throws: ``JobQueue/JobCancelled`` when `token` fires while waiting.
    public func waitForTurn(
        requestsPerMinute: Int?, tokensPerMinute: Int?, shared: (any RateLimitStore)? = nil, token: CancellationToken,
        threads: WorkerThreads
    ) async throws {
        let endpoint = self.endpoint
        while true {
            let wait = localWait(requestsPerMinute: requestsPerMinute, tokensPerMinute: tokensPerMinute, countIfOpen: shared == nil)
            if wait > 0 {
                try await token.sleep(milliseconds: Int64((wait * 1000).rounded(.up)))
                continue
            }
            guard let shared else { return }
            let budgeted = requestsPerMinute != nil || tokensPerMinute != nil
            if !budgeted && lock.withLock({ Date() < sharedOpenUntil }) { return }
            let now = Timestamp.now
            // The store is out of reach: this process's own pacing has to do.
            let later: Timestamp? = try? await threads.perform {
                if requestsPerMinute != nil || tokensPerMinute != nil {
                    return try shared.reserveCall(
                        endpoint: endpoint, requestsPerMinute: requestsPerMinute, tokensPerMinute: tokensPerMinute, now: now)
                }
                return try shared.closedUntil(endpoint: endpoint, now: now)
            }
            if let later, later > now {
                lock.withLock { sharedWaitUntil = max(sharedWaitUntil, later.date) }
                continue
            }
            if !budgeted {
                let openUntil = Date().addingTimeInterval(Double(Self.sharedOpenMilliseconds) / 1000)
                lock.withLock { sharedOpenUntil = max(sharedOpenUntil, openUntil) }
            }
            if requestsPerMinute != nil { lock.withLock { requestTimes.append(Date()) } }
            return
        }
    }

    /// Seconds until this process's own state lets a call through (0: now, counted when `countIfOpen`).
    private func localWait(requestsPerMinute: Int?, tokensPerMinute: Int?, countIfOpen: Bool) -> TimeInterval {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let minuteAgo = now.addingTimeInterval(-60)
        requestTimes.removeAll { $0 <= minuteAgo }
        tokenSpend.removeAll { $0.at <= minuteAgo }
        var until = max(closedUntil, sharedWaitUntil)
        if let requestsPerMinute, requestTimes.count >= requestsPerMinute, let oldest = requestTimes.first {
            until = max(until, oldest.addingTimeInterval(60))
        }
        if let tokensPerMinute, tokenSpend.reduce(0, { $0 + $1.tokens }) >= tokensPerMinute, let oldest = tokenSpend.first {
            until = max(until, oldest.at.addingTimeInterval(60))
        }
        guard until <= now else { return until.timeIntervalSince(now) }
        // Only an rpm budget reads these: kept without one, they grew by every call of the minute.
        if countIfOpen && requestsPerMinute != nil { requestTimes.append(now) }
        return 0
    }

    /// Counts the tokens a call used against the tokens-per-minute budget (in every process
    /// with `shared`; only agents with a `tpm` need it there).
    public func record(tokens: Int, shared: (any RateLimitStore)? = nil) {
        guard tokens > 0 else { return }
        lock.lock()
        tokenSpend.append((Date(), tokens))
        lock.unlock()
        try? shared?.recordTokens(tokens, endpoint: endpoint, now: .now)
    }
}
