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
    /// The jobs with these IDs that exist, in one read: for a caller watching many jobs at once.
    /// - throws: a ``StoreError``.
    func jobs(ids: [String]) throws -> [Job]
    func jobs(matching filter: JobFilter) throws -> [Job]
    func attempts(ofJob id: String) throws -> [AttemptRecord]
    func batch(id: String) throws -> Batch?
    /// Batches newest first; with `after`, only those older than that batch (the next page).
    func batches(limit: Int, after batchID: String?) throws -> [Batch]
    func counts(batchID: String?) throws -> JobCounts

    /// Whether a ``WorkerPool`` delivers a finished job to its sink only after the outcome
    /// commits. `false` (one host): the worker writes the result before the commit, in
    /// parallel, and a crash in between only means the job runs and is written again, in the
    /// same place. `true` (many hosts): a host killed in between would keep a result for an
    /// attempt another host then runs again, so the result waits for the commit.
    var deliversAfterCommit: Bool { get }
}

extension JobStore {
    public var deliversAfterCommit: Bool { false }

    /// The newest `limit` batches.
    public func batches(limit: Int) throws -> [Batch] { try batches(limit: limit, after: nil) }
}
