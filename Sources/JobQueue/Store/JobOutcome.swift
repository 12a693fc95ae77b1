/// The end of one attempt, reported by a worker.
public struct JobOutcome: Sendable {
    public enum Resolution: Sendable {
        case succeeded(output: String)
        case failed(JobError, output: String?)
        case cancelled(JobError, output: String?)
        /// Back to the queue, not before `at`; the error is recorded as this attempt's.
        case retry(JobError, at: Timestamp, output: String?)
        /// Back to the queue at once without counting the attempt (worker shutdown).
        case requeue
    }

    /// The job as it was claimed.
    public var job: Job
    public var resolution: Resolution
    public var finishedAt: Timestamp
    /// The sink already holds the job's end state (a worker delivered it before committing),
    /// so the store need not mark it for delivery.
    public var delivered: Bool

    public init(job: Job, resolution: Resolution, finishedAt: Timestamp = .now, delivered: Bool = false) {
        self.job = job
        self.resolution = resolution
        self.finishedAt = finishedAt
        self.delivered = delivered
    }

    /// The job in its end state, for outcomes that end it; `nil` for a retry or requeue,
    /// whose end state the store decides.
    public var finishedJob: Job? {
        var finished = job
        switch resolution {
        case .succeeded(let output):
            finished.status = .succeeded
            finished.output = output
            finished.error = nil
        case .failed(let error, let output):
            finished.status = .failed
            finished.output = output
            finished.error = error
        case .cancelled(let error, let output):
            finished.status = .cancelled
            finished.output = output
            finished.error = error
        case .retry, .requeue:
            return nil
        }
        finished.finishedAt = finishedAt
        finished.workerID = nil
        finished.version = job.version + 1   // what the store's commit of this outcome makes it
        return finished
    }
}
