import AgentQ
import Foundation
import Testing

// ProviderRetryPolicy: which failed model calls are tried again, and after how long.

@Suite("Provider retry policy")
struct ProviderRetryPolicyTests {
    /// A policy whose jitter always draws `value`.
    static func pinned(_ value: Double) -> ProviderRetryPolicy {
        ProviderRetryPolicy(random: { value })
    }

    // MARK: - Retryable or not

    @Test("408, 409, 429 and 5xx (529 included) are retried", arguments: [408, 409, 429, 500, 502, 503, 504, 529])
    func retryableStatuses(status: Int) {
        let policy = ProviderRetryPolicy()
        #expect(policy.isRetryable(status: status, errorType: nil, errorCode: nil), "HTTP \(status)")
    }

    @Test("retryable statuses stay retryable with the providers' usual error types")
    func retryableWithTypes() {
        let policy = ProviderRetryPolicy()
        #expect(policy.isRetryable(status: 429, errorType: "rate_limit_error", errorCode: nil))
        #expect(policy.isRetryable(status: 429, errorType: "requests", errorCode: "rate_limit_exceeded"))
        #expect(policy.isRetryable(status: 529, errorType: "overloaded_error", errorCode: nil))
        #expect(policy.isRetryable(status: 500, errorType: "api_error", errorCode: nil))
        #expect(policy.isRetryable(status: 503, errorType: "server_error", errorCode: nil))
    }

    @Test("400, 401, 403, 404 and 422 are not retried", arguments: [400, 401, 403, 404, 422])
    func permanentStatuses(status: Int) {
        let policy = ProviderRetryPolicy()
        #expect(!policy.isRetryable(status: status, errorType: nil, errorCode: nil), "HTTP \(status)")
        #expect(!policy.isRetryable(status: status, errorType: "invalid_request_error", errorCode: nil), "HTTP \(status)")
    }

    @Test("a 429 that means out of quota is not retried, whether the type or the code says so")
    func insufficientQuota() {
        let policy = ProviderRetryPolicy()
        #expect(!policy.isRetryable(status: 429, errorType: "insufficient_quota", errorCode: nil))
        #expect(!policy.isRetryable(status: 429, errorType: "insufficient_quota", errorCode: "insufficient_quota"))
        #expect(!policy.isRetryable(status: 429, errorType: "requests", errorCode: "insufficient_quota"))
    }

    @Test("spend-limit and billing errors are not retried, whatever the status")
    func spendLimits() {
        let policy = ProviderRetryPolicy()
        for status in [402, 429, 500, 529] {
            #expect(!policy.isRetryable(status: status, errorType: "billing_error", errorCode: nil), "HTTP \(status) billing_error")
            #expect(!policy.isRetryable(status: status, errorType: "spend_limit_exceeded", errorCode: nil), "HTTP \(status)")
            #expect(!policy.isRetryable(status: status, errorType: "invalid_request_error", errorCode: "billing_hard_limit_reached"),
                    "HTTP \(status) billing_hard_limit_reached")
        }
    }

    // MARK: - retry-after headers

    @Test("retry-after-ms is read in milliseconds")
    func retryAfterMs() {
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after-ms", "1500")]) == 1500)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after-ms", "0")]) == 0)
    }

    @Test("retry-after in seconds")
    func retryAfterSeconds() {
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", "2")]) == 2000)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", " 7 ")]) == 7000)
    }

    @Test("a hostile retry-after (huge, infinite, negative, not a number) is a bounded wait or none, never a crash")
    func hostileRetryAfter() {
        let day: Int64 = 86_400_000
        for (name, value) in [
            ("retry-after", "1e300"), ("retry-after", "inf"), ("retry-after", "Infinity"),
            ("retry-after-ms", "1e300"), ("retry-after-ms", "inf"), ("retry-after-ms", "9223372036854775807"),
        ] {
            let wait = ProviderRetryPolicy.retryAfterMilliseconds(headers: [(name, value)])
            #expect(wait == day, "\(name): \(value) -> \(String(describing: wait))")
        }
        for (name, value) in [("retry-after", "nan"), ("retry-after", "-5"), ("retry-after-ms", "-1"), ("retry-after-ms", "nan")] {
            #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [(name, value)]) == nil, "\(name): \(value)")
        }
        // A date far in the future waits the same day at most.
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]) == day)
    }

    @Test("retry-after-ms wins over retry-after")
    func msWins() {
        let headers: [(name: String, value: String)] = [("retry-after", "30"), ("retry-after-ms", "250")]
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: headers) == 250)
    }

    @Test("retry-after as an HTTP date is the time until then")
    func retryAfterDate() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"

        // A whole-second clock: exactly 3 s.
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let exact = formatter.string(from: now.addingTimeInterval(3))
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", exact)], now: now) == 3000, "\(exact)")

        // The real clock: the date has whole seconds, so about 3 s (never more).
        let real = Date()
        let text = formatter.string(from: real.addingTimeInterval(3))
        let wait = ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", text)], now: real)
        let value = try #require(wait, "no wait read from \(text)")
        #expect((1990...3000).contains(value), "\(text) → \(value)")

        // A date in the past means now, never a negative wait.
        let past = formatter.string(from: now.addingTimeInterval(-60))
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", past)], now: now) == 0)
    }

    @Test("garbage and absent headers give nil", arguments: ["soon", "", "-5", "Tue, 99 Foo 2026 10:00:00 GMT", "2s"])
    func garbage(value: String) {
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("retry-after", value)]) == nil, "retry-after: '\(value)'")
    }

    @Test("no header at all gives nil")
    func absent() {
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: []) == nil)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("content-type", "application/json")]) == nil)
    }

    @Test("header names are case-insensitive")
    func caseInsensitive() {
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("Retry-After-Ms", "1500")]) == 1500)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("RETRY-AFTER-MS", "1500")]) == 1500)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("Retry-After", "2")]) == 2000)
        #expect(ProviderRetryPolicy.retryAfterMilliseconds(headers: [("RETRY-AFTER", "2")]) == 2000)
    }

    // MARK: - Delays

    @Test("the delay is never below what the server asked for")
    func neverBelowRetryAfter() {
        for random in [0.0, 0.5, 0.999] {
            let policy = Self.pinned(random)
            for attempt in 1...12 {
                for asked: Int64 in [0, 1, 1500, 2000, 60_000] {
                    let delay = policy.delayMilliseconds(afterAttempt: attempt, retryAfterMilliseconds: asked)
                    #expect(delay >= asked, "attempt \(attempt), random \(random), asked \(asked): \(delay)")
                }
            }
        }
    }

    @Test("full jitter: just below the capped exponential with random 0.999, zero with random 0")
    func jitterBounds() {
        let high = Self.pinned(0.999)
        let low = Self.pinned(0)
        let base = high.baseDelayMilliseconds
        let cap = high.maxDelayMilliseconds
        #expect(base > 0 && cap > base)
        for attempt in 1...10 {
            let nominal = min(cap, base << Int64(attempt - 1))
            let delay = high.delayMilliseconds(afterAttempt: attempt, retryAfterMilliseconds: nil)
            #expect(delay < nominal, "attempt \(attempt): \(delay) vs \(nominal)")
            #expect(delay >= nominal * 99 / 100, "attempt \(attempt): \(delay) vs \(nominal)")
            #expect(low.delayMilliseconds(afterAttempt: attempt, retryAfterMilliseconds: nil) == 0, "attempt \(attempt)")
        }
        // Exponential: each attempt's ceiling doubles until the cap.
        let first = high.delayMilliseconds(afterAttempt: 1, retryAfterMilliseconds: nil)
        let second = high.delayMilliseconds(afterAttempt: 2, retryAfterMilliseconds: nil)
        let third = high.delayMilliseconds(afterAttempt: 3, retryAfterMilliseconds: nil)
        #expect(first < second && second < third, "\(first), \(second), \(third)")
    }

    @Test("the cap holds at high attempt numbers")
    func capHolds() {
        let policy = ProviderRetryPolicy(baseDelayMilliseconds: 500, maxDelayMilliseconds: 20_000, random: { 0.999 })
        for attempt in [7, 10, 20, 31, 32, 63, 64, 100, 1000, Int.max] {
            let delay = policy.delayMilliseconds(afterAttempt: attempt, retryAfterMilliseconds: nil)
            #expect(delay <= 20_000, "attempt \(attempt): \(delay)")
            #expect(delay >= 19_900, "attempt \(attempt): \(delay) (should sit at the cap)")
        }
        let small = ProviderRetryPolicy(baseDelayMilliseconds: 100, maxDelayMilliseconds: 1000, random: { 0.999 })
        #expect(small.delayMilliseconds(afterAttempt: 50, retryAfterMilliseconds: nil) <= 1000)
    }

    @Test("defaults: 4 attempts per call")
    func defaults() {
        let policy = ProviderRetryPolicy()
        #expect(policy.maxAttemptsPerCall == 4)
        #expect(ProviderRetryPolicy(maxAttemptsPerCall: 0).maxAttemptsPerCall == 1)
    }
}
