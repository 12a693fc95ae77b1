import Foundation
import JobQueue

/// Shared pacing for one provider endpoint: every worker in the process waits here before
/// calling it. One 429 with `retry-after` closes the gate for everyone until it passes,
/// instead of each worker hammering on its own; optional requests- and tokens-per-minute
/// buckets spread calls out.
///
/// ```swift
/// let gate = RateLimitGate.forEndpoint("https://api.openai.com/v1")
/// try gate.waitForTurn(requestsPerMinute: 500, token: token)
/// gate.close(forMilliseconds: 2000)
/// ```
public final class RateLimitGate: @unchecked Sendable {
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: RateLimitGate] = [:]

    /// The gate of an endpoint (one per base URL in this process).
    public static func forEndpoint(_ endpoint: String) -> RateLimitGate {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let gate = registry[endpoint] { return gate }
        let gate = RateLimitGate()
        registry[endpoint] = gate
        return gate
    }

    private let lock = NSLock()
    private var closedUntil = Date.distantPast
    private var requestTimes: [Date] = []
    private var tokenSpend: [(at: Date, tokens: Int)] = []

    public init() {}

    /// Keeps every caller out until `milliseconds` from now (never shortens an earlier closure).
    public func close(forMilliseconds milliseconds: Int64) {
        lock.lock()
        closedUntil = max(closedUntil, Date().addingTimeInterval(Double(milliseconds) / 1000))
        lock.unlock()
    }

    /// When the gate opens again (in the past when it is open).
    public var opensAt: Date {
        lock.lock()
        defer { lock.unlock() }
        return closedUntil
    }

    /// Waits until the gate is open and the minute's budgets allow one more call, then counts it.
    /// - throws: ``JobQueue/JobCancelled`` when `token` fires while waiting.
    public func waitForTurn(requestsPerMinute: Int?, tokensPerMinute: Int?, token: CancellationToken) throws {
        while true {
            let wait: TimeInterval = {
                lock.lock()
                defer { lock.unlock() }
                let now = Date()
                let minuteAgo = now.addingTimeInterval(-60)
                requestTimes.removeAll { $0 <= minuteAgo }
                tokenSpend.removeAll { $0.at <= minuteAgo }
                var until = closedUntil
                if let requestsPerMinute, requestTimes.count >= requestsPerMinute, let oldest = requestTimes.first {
                    until = max(until, oldest.addingTimeInterval(60))
                }
                if let tokensPerMinute, tokenSpend.reduce(0, { $0 + $1.tokens }) >= tokensPerMinute, let oldest = tokenSpend.first {
                    until = max(until, oldest.at.addingTimeInterval(60))
                }
                if until <= now {
                    requestTimes.append(now)
                    return 0
                }
                return until.timeIntervalSince(now)
            }()
            if wait <= 0 { return }
            try token.sleep(milliseconds: Int64((wait * 1000).rounded(.up)))
        }
    }

    /// Counts the tokens a call used against the tokens-per-minute budget.
    public func record(tokens: Int) {
        guard tokens > 0 else { return }
        lock.lock()
        tokenSpend.append((Date(), tokens))
        lock.unlock()
    }
}
