/// What went wrong in one attempt of a job: a machine-readable type and a human message.
///
/// ```swift
/// JobError(type: "rate_limited", message: "429 from provider")
/// ```
public struct JobError: Sendable, Hashable, Codable {
    public var type: String
    public var message: String

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }
}

/// The error a ``JobHandler`` throws to fail an attempt.
///
/// A retryable failure sends the job back to the queue with a backoff delay while attempts
/// remain; a non-retryable one fails the job at once.
///
/// ```swift
/// throw JobFailure(type: "rate_limited", message: "try later", retryable: true)
/// ```
public struct JobFailure: Error, Sendable {
    public var error: JobError
    public var retryable: Bool
    /// Whatever the handler produced before failing (for example the tokens it used).
    public var output: String?
    /// The earliest a retry may start, in milliseconds from now (a rate limit's `retry-after`);
    /// the backoff delay is used when it is longer.
    public var retryAfterMilliseconds: Int64?

    public init(type: String, message: String, retryable: Bool, output: String? = nil, retryAfterMilliseconds: Int64? = nil) {
        self.error = JobError(type: type, message: message)
        self.retryable = retryable
        self.output = output
        self.retryAfterMilliseconds = retryAfterMilliseconds
    }
}

/// Thrown by a ``JobHandler`` that stopped because its ``CancellationToken`` fired.
public struct JobCancelled: Error, Sendable {
    /// Whatever the handler produced before it stopped.
    public var output: String?
    public init(output: String? = nil) { self.output = output }
}
