import Foundation
import JobQueue

/// Runs a session's queued turns in this process until the given turn has finished.
///
/// The turn goes through the queue like any job: a worker pool scoped to the session's lane
/// claims it here, or a worker daemon claims it first and this waits for it. So a turn works
/// the same with or without a daemon, and `agentq jobs cancel` reaches it either way.
///
/// ```swift
/// let job = try TurnDriver(queue: queue).runUntilFinished(jobID: id, sessionID: session.id)
/// ```
public struct TurnDriver: Sendable {
    public let queue: AgentQueue

    public init(queue: AgentQueue) { self.queue = queue }

    /// - parameter started: receives the pool before it runs, so a caller can stop it (Ctrl-C).
    /// - returns: the job as it stands afterwards: finished, or still queued when the session is paused.
    /// - throws: ``JobQueue/StoreError`` or ``AgentQError`` `.notFound`.
    public func runUntilFinished(
        jobID: String, sessionID: String, started: (WorkerPool) -> Void = { _ in }
    ) throws -> Job {
        let pool = queue.makeWorker(WorkerOptions(
            mode: .drain, scope: .lane(sessionID), concurrency: 1, prefetch: 0,
            log: { FileHandle.standardError.write(Data("agentq: \($0)\n".utf8)) }))
        started(pool)
        try pool.run()
        guard let job = try queue.store.job(id: jobID) else {
            throw AgentQError(.notFound, "no job with ID '\(jobID)'")
        }
        return job
    }
}
