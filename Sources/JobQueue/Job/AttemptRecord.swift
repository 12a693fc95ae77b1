/// One failed attempt of a job, kept for `jobs get`.
public struct AttemptRecord: Sendable, Hashable {
    public var attempt: Int
    public var error: JobError
    public var at: Timestamp

    public init(attempt: Int, error: JobError, at: Timestamp) {
        self.attempt = attempt
        self.error = error
        self.at = at
    }
}
