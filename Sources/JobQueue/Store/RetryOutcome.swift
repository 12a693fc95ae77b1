/// What `retry` did to one job: see ``JobStore/retry(ids:now:)``.
public struct RetryOutcome: Sendable, Hashable {
    public enum Effect: String, Sendable {
        case requeued
        /// Only failed or cancelled jobs can be retried.
        case notRetryable = "not_retryable"
        case notFound = "not_found"
    }
    public var id: String
    public var effect: Effect
    public var status: JobStatus?
}
