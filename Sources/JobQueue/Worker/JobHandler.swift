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

/// Receives every job that reached an end state, as that end state.
///
/// Workers deliver a job from their own thread just before they commit its end state, so
/// the sink is called from several threads at once. Jobs that end without a worker
/// (cancelled while queued, failed by a lease rescue) and jobs whose early delivery failed
/// are delivered after their commit, again by any worker that starts. So a job can be
/// delivered more than once. When a worker delivered an end state and then found its lease
/// lost, the store's committed state is delivered after it (or the job runs again and is
/// delivered then). An implementation must be thread-safe and idempotent: atomic file writes
/// that replace older copies are.
public protocol FinishedJobSink: Sendable {
    func deliver(_ jobs: [Job]) throws
}
