/// Runs one attempt of a job on a worker thread.
///
/// Return the job's output as JSON text. Throw ``JobFailure`` to fail the attempt (retryable
/// or not) and ``JobCancelled`` when `token` fired. Any other error fails the job without
/// retry, typed `internal_error`.
///
/// ```swift
/// struct Upper: JobHandler {
///     func run(_ job: Job, token: CancellationToken) throws -> String {
///         "\"\(job.input.uppercased())\""
///     }
/// }
/// ```
public protocol JobHandler: Sendable {
    func run(_ job: Job, token: CancellationToken) throws -> String
}

/// Receives every job that reached an end state, after its state is committed.
///
/// The pool calls it from one thread at a time; once it returns, the jobs are marked as
/// delivered. Jobs whose delivery was interrupted by a crash are delivered again when a
/// worker next starts, so an implementation must be idempotent (for example, atomic file
/// writes that replace older copies).
public protocol FinishedJobSink: Sendable {
    func deliver(_ jobs: [Job]) throws
}
