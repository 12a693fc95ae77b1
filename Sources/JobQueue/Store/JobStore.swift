/// The storage driver the queue engine runs on.
///
/// Every method is one atomic step, safe to call from many processes against the same
/// storage at once. ``SQLiteJobStore`` is the driver today; a server database driver must
/// keep the same guarantees: claims never hand one job to two workers, lanes run one job at
/// a time in submission order, and a finished job is delivered to the ``FinishedJobSink``
/// at least once.
public protocol JobStore: Sendable {
    /// Inserts jobs: all of them, or none if `body` throws.
    ///
    /// A large batch is written in short transactions, so other processes' heartbeats and
    /// claims never wait long for the write lock, and its jobs become claimable only once all
    /// of them are in. A submission that dies half-way leaves nothing claimable, and
    /// ``cleanUpAbandonedSubmissions(now:)`` removes what it wrote.
    ///
    /// ```swift
    /// let summary = try store.enqueue(batch: NewBatch(source: "prompts.jsonl")) { inserter in
    ///     for line in lines { try inserter.insert(NewJob(handler: "echo", input: line)) }
    /// }
    /// ```
    /// - throws: whatever `body` throws, or a ``StoreError``.
    func enqueue(batch: NewBatch?, _ body: (any JobInserter) throws -> Void) throws -> EnqueueSummary

    /// Applies finished attempts, marks delivered jobs, then claims jobs — in one transaction.
    /// - throws: a ``StoreError``.
    func exchange(_ request: ExchangeRequest) throws -> ExchangeResult

    /// Renews the lease of every job `workerID` runs.
    /// - returns: each of those jobs, with whether a cancel was requested.
    func heartbeat(workerID: String, leaseUntil: Timestamp) throws -> [LeaseState]

    /// Requeues (or fails, when out of attempts) running jobs whose lease expired before `now`.
    /// - returns: how many jobs were rescued.
    func rescueExpiredLeases(now: Timestamp) throws -> Int

    /// Finished jobs that were not yet delivered to the sink (after a crash, or finished by another process).
    func undeliveredJobs(limit: Int) throws -> [Job]

    /// Records that these finished jobs reached the sink, each in the state it was delivered
    /// in: a job whose state changed since (retried and finished again) stays to be delivered.
    func markDelivered(_ jobs: [Job]) throws

    /// Finishes or removes what a bulk submission that died half-way left behind: jobs of a
    /// batch that was still loading are deleted, a batch that was going live is made live.
    /// - returns: how many batches were cleaned up.
    func cleanUpAbandonedSubmissions(now: Timestamp) throws -> Int

    /// Whether any job in `scope` is queued (now or for a later retry) or running.
    func hasUnfinishedJobs(in scope: ClaimScope) throws -> Bool

    /// Cancels queued jobs at once and asks the workers of running ones to stop.
    func cancel(_ selector: JobSelector, now: Timestamp) throws -> [CancelOutcome]

    /// Holds (or releases) the queued jobs of a lane: a paused lane's jobs are not claimed,
    /// and drain mode does not wait for them.
    func setLane(_ lane: String, paused: Bool) throws

    /// Puts failed or cancelled jobs back in the queue with fresh attempts.
    func retry(ids: [String], now: Timestamp) throws -> [RetryOutcome]

    /// Deletes finished jobs (succeeded, failed, cancelled) that finished before `finishedBefore`
    /// and whose result reached the sink, with their attempt errors, then the batches left
    /// with no job. Queued, running and staged jobs, and finished ones still to be delivered,
    /// are never touched.
    ///
    /// Works in short transactions (a few thousand rows at most, sized to hold the write lock
    /// for about ten milliseconds), so other processes' heartbeats and claims barely wait.
    /// Each removed job's ID stays answerable by ``prunedAt(jobID:)``.
    ///
    /// ```swift
    /// let report = try store.pruneFinishedJobs(finishedBefore: .now.adding(milliseconds: -7 * 86_400_000),
    ///                                          dryRun: false) { pruned in removeFiles(of: pruned) }
    /// ```
    /// - parameter dryRun: count what would go (``PruneReport/jobs``, ``PruneReport/bytes``, …), delete nothing.
    /// - parameter onPruned: called after each committed transaction with the jobs it removed.
    /// - throws: a ``StoreError``, or what `onPruned` throws (what was committed stays pruned).
    func pruneFinishedJobs(
        finishedBefore: Timestamp, dryRun: Bool, onPruned: ([PrunedJob]) throws -> Void
    ) throws -> PruneReport

    /// When the job with this ID was pruned; nil if it exists or was never known.
    /// - throws: a ``StoreError``.
    func prunedAt(jobID: String) throws -> Timestamp?

    /// Jobs per status, batches, and the oldest finished job: what `agentq stats` shows.
    /// - throws: a ``StoreError``.
    func summary() throws -> StoreSummary

    func job(id: String) throws -> Job?
    func jobs(matching filter: JobFilter) throws -> [Job]
    func attempts(ofJob id: String) throws -> [AttemptRecord]
    func batch(id: String) throws -> Batch?
    func batches(limit: Int) throws -> [Batch]
    func counts(batchID: String?) throws -> JobCounts
}

/// Inserts jobs inside ``JobStore/enqueue(batch:_:)``.
public protocol JobInserter {
    /// - returns: the new job's ID.
    @discardableResult
    func insert(_ job: NewJob) throws -> String
}

/// A batch to create along with the jobs of one ``JobStore/enqueue(batch:_:)``.
public struct NewBatch: Sendable {
    public var id: String
    public var source: String?
    public init(id: String = SortableID.make(prefix: "bat_"), source: String?) {
        self.id = id
        self.source = source
    }
}

public struct EnqueueSummary: Sendable {
    public var batchID: String?
    public var count: Int
}

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

/// One round trip of a worker to the store: see ``JobStore/exchange(_:)``.
public struct ExchangeRequest: Sendable {
    public var workerID: String
    public var now: Timestamp
    public var outcomes: [JobOutcome]
    /// Finished jobs that reached the sink, in the state they were delivered in.
    public var delivered: [Job]
    public var claimLimit: Int
    public var claimScope: ClaimScope
    public var leaseMilliseconds: Int64

    public init(
        workerID: String, now: Timestamp, outcomes: [JobOutcome] = [], delivered: [Job] = [],
        claimLimit: Int = 0, claimScope: ClaimScope = .all, leaseMilliseconds: Int64 = 30_000
    ) {
        self.claimScope = claimScope
        self.workerID = workerID
        self.now = now
        self.outcomes = outcomes
        self.delivered = delivered
        self.claimLimit = claimLimit
        self.leaseMilliseconds = leaseMilliseconds
    }
}

public struct ExchangeResult: Sendable {
    /// Jobs that reached an end state in this exchange and still have to reach the sink.
    public var finished: [Job]
    /// Newly claimed jobs, highest priority first, then in submission order.
    public var claimed: [Job]
    /// Outcomes the store refused because the job was no longer this worker's (its lease
    /// expired and another worker took it over), by `seq`.
    public var refused: Set<Int64> = []
}

/// A running job's lease as a heartbeat saw it.
public struct LeaseState: Sendable, Hashable {
    public var seq: Int64
    public var cancelRequested: Bool
}

/// Which jobs a worker may claim.
public enum ClaimScope: Sendable, Hashable {
    case all
    /// Only the jobs of one batch (a `submit --wait` running its own batch).
    case batch(String)
    /// Only the jobs of one lane (a session's turn run in the foreground).
    case lane(String)

    var batchID: String? { if case .batch(let id) = self { return id } else { return nil } }
    var lane: String? { if case .lane(let key) = self { return key } else { return nil } }
}

/// Which jobs a cancel applies to.
public enum JobSelector: Sendable {
    case ids([String])
    case batch(String)
    case lane(String)
}

public struct CancelOutcome: Sendable, Hashable {
    public enum Effect: String, Sendable {
        /// It was queued and is now cancelled.
        case cancelled
        /// It is running; its worker was asked to stop.
        case cancelRequested = "cancel_requested"
        /// It had already finished; nothing changed.
        case alreadyFinished = "already_finished"
        case notFound = "not_found"
    }
    public var id: String
    public var effect: Effect
    public var status: JobStatus?
}

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

/// Which jobs ``JobStore/jobs(matching:)`` returns, in submission order.
public struct JobFilter: Sendable {
    public var status: JobStatus?
    public var batchID: String?
    public var lane: String?
    /// Only jobs after this `seq`, for paging.
    public var afterSeq: Int64?
    public var limit: Int?
    /// Newest first instead of oldest first.
    public var newestFirst: Bool

    public init(
        status: JobStatus? = nil, batchID: String? = nil, lane: String? = nil, afterSeq: Int64? = nil,
        limit: Int? = nil, newestFirst: Bool = false
    ) {
        self.status = status
        self.batchID = batchID
        self.lane = lane
        self.afterSeq = afterSeq
        self.limit = limit
        self.newestFirst = newestFirst
    }
}
