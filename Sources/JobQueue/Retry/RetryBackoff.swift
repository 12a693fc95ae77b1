/// Exponential backoff with jitter for jobs whose attempt failed with a retryable error.
///
/// The n-th retry waits between half and all of `min(maximum, base × 2^(n-1))`
/// ("equal jitter"): never less than half the nominal delay, so retries spread out
/// without ever hammering.
///
/// ```swift
/// let backoff = RetryBackoff(baseMilliseconds: 1000, maximumMilliseconds: 300_000)
/// backoff.delay(afterAttempt: 3)   // 2000...4000 ms
/// ```
public struct RetryBackoff: Sendable {
    public var baseMilliseconds: Int64
    public var maximumMilliseconds: Int64
    /// Returns a value in `0..<1`; injectable so tests can pin the jitter.
    public var random: @Sendable () -> Double

    public init(
        baseMilliseconds: Int64 = 1000, maximumMilliseconds: Int64 = 300_000,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.baseMilliseconds = max(0, baseMilliseconds)
        self.maximumMilliseconds = max(self.baseMilliseconds, maximumMilliseconds)
        self.random = random
    }

    /// The delay before the attempt after `attempt` (1-based) failed.
    public func delay(afterAttempt attempt: Int) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 40)
        let (scaled, overflow) = baseMilliseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        let nominal = overflow ? maximumMilliseconds : min(maximumMilliseconds, scaled)
        let half = nominal / 2
        return half + Int64(Double(nominal - half) * random())
    }
}
