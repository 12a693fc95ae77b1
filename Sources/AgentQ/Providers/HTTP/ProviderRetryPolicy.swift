import Foundation

/// When a failed model call is tried again, and after how long: the one place that decides.
///
/// Retried: 408, 409, 429, 500–599 (529 included), connection errors, timeouts, and a stream
/// that ended without a finish reason or sent a malformed chunk. Never retried: 400, 401,
/// 403, 404, 422, OpenAI's `insufficient_quota`, Anthropic's spend-limit errors. A
/// `retry-after-ms` or `retry-after` header (seconds or an HTTP date) is honoured exactly:
/// never earlier. Otherwise exponential backoff with full jitter, capped. After
/// `maxAttemptsPerCall` the job's own retry takes over.
///
/// ```swift
/// let policy = ProviderRetryPolicy()
/// policy.isRetryable(status: 429, errorType: "rate_limit_error", errorCode: nil)   // true
/// policy.delayMilliseconds(afterAttempt: 2, retryAfterMilliseconds: nil)          // 0...1000
/// ```
public struct ProviderRetryPolicy: Sendable {
    public var maxAttemptsPerCall: Int
    public var baseDelayMilliseconds: Int64
    public var maxDelayMilliseconds: Int64
    /// A `retry-after` longer than this is not waited out inside the call: the job retries later instead.
    public var longestInCallWaitMilliseconds: Int64
    /// Returns a value in `0..<1`; injectable so tests can pin the jitter.
    public var random: @Sendable () -> Double

    public init(
        maxAttemptsPerCall: Int = 4, baseDelayMilliseconds: Int64 = 500, maxDelayMilliseconds: Int64 = 20_000,
        longestInCallWaitMilliseconds: Int64 = 120_000, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.maxAttemptsPerCall = max(1, maxAttemptsPerCall)
        self.baseDelayMilliseconds = baseDelayMilliseconds
        self.maxDelayMilliseconds = maxDelayMilliseconds
        self.longestInCallWaitMilliseconds = longestInCallWaitMilliseconds
        self.random = random
    }

    /// Error types and codes that mean "you are out of money", which waiting does not fix.
    static let quotaErrors: Set<String> = ["insufficient_quota", "billing_hard_limit_reached", "billing_error", "spend_limit_exceeded"]

    public func isRetryable(status: Int, errorType: String?, errorCode: String?) -> Bool {
        if let errorType, Self.quotaErrors.contains(errorType) { return false }
        if let errorCode, Self.quotaErrors.contains(errorCode) { return false }
        if let errorType, errorType.contains("spend") || errorType.contains("billing") { return false }
        switch status {
        case 408, 409, 429: return true
        case 500...599: return true
        default: return false
        }
    }

    /// The longest wait a response can ask for: the headers come from whatever answers at the
    /// base URL, and a number too large for an Int64 would otherwise end the process.
    public static let maxRetryAfterMilliseconds: Int64 = 86_400_000

    /// The wait a response asks for: `retry-after-ms`, else `retry-after` in seconds or as an
    /// HTTP date; at most ``maxRetryAfterMilliseconds``, nil for a negative or unreadable one.
    public static func retryAfterMilliseconds(headers: [(name: String, value: String)], now: Date = Date()) -> Int64? {
        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name }?.value.trimmingCharacters(in: .whitespaces)
        }
        func capped(_ milliseconds: Double) -> Int64 {
            milliseconds < Double(maxRetryAfterMilliseconds) ? Int64(milliseconds.rounded(.up)) : maxRetryAfterMilliseconds
        }
        if let text = header("retry-after-ms"), let milliseconds = Double(text), milliseconds >= 0 {
            return capped(milliseconds)
        }
        guard let text = header("retry-after") else { return nil }
        if let seconds = Double(text), seconds >= 0 { return capped(seconds * 1000) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                return capped(max(0, date.timeIntervalSince(now) * 1000))
            }
        }
        return nil
    }

    /// How long to wait before the attempt after `attempt` (1-based): the server's
    /// `retry-after` when it gave one, else full jitter over a capped exponential.
    public func delayMilliseconds(afterAttempt attempt: Int, retryAfterMilliseconds: Int64?) -> Int64 {
        if let retryAfterMilliseconds { return retryAfterMilliseconds }
        let exponent = min(max(attempt - 1, 0), 30)
        let nominal = min(maxDelayMilliseconds, baseDelayMilliseconds << exponent)
        return Int64(Double(nominal) * random())
    }
}
