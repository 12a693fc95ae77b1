import Dispatch
import Foundation

/// Runs one attempt of a job without holding a thread while it waits.
///
/// A ``WorkerPool`` starts an asynchronous handler's jobs as tasks, so `--concurrency` can
/// mean thousands of jobs in flight: a job waiting on the network or a timer costs a task,
/// not a thread. Blocking work (database calls, child processes, file writes) goes to the
/// pool's ``WorkerThreads`` with ``WorkerThreads/perform(_:)``, never onto the task's own
/// thread, which Swift's cooperative pool shares with every other job.
///
/// Errors mean what they mean for ``JobHandler``: ``JobFailure``, ``JobCancelled``, anything
/// else an `internal_error`.
///
/// ```swift
/// struct Fetch: AsyncJobHandler {
///     func run(_ job: Job, token: CancellationToken, threads: WorkerThreads) async throws -> String {
///         try await token.sleep(milliseconds: 1000)   // no thread held
///         return try await threads.perform { try save(job) }
///     }
/// }
/// ```
public protocol AsyncJobHandler: JobHandler {
    func run(_ job: Job, token: CancellationToken, threads: WorkerThreads) async throws -> String
}

extension AsyncJobHandler {
    /// The synchronous form, for callers that have a thread to give: runs the asynchronous
    /// one and waits, its blocking work on ``WorkerThreads/shared``.
    public func run(_ job: Job, token: CancellationToken) throws -> String {
        try WorkerThreads.block { try await run(job, token: token, threads: .shared) }
    }
}
