import JobQueue

/// Where the batches of the OpenAI Batch API live: ``SQLiteOpenAIBatchStore`` in a home's
/// database, ``PostgresOpenAIBatchStore`` in a database many hosts share.
///
/// Every change of status is one conditional UPDATE, so processes (and hosts) sharing the
/// store agree on it: one finalizer at a time holds a batch's lease
/// (``claimFinalization(id:now:leaseMilliseconds:)``), and a cancel and a finalization never both win.
///
/// ```swift
/// let store: any OpenAIBatchStore = SQLiteOpenAIBatchStore(database: queue.database)
/// if let batch = try store.claimFinalization(id: id, now: .now, leaseMilliseconds: 300_000) { … }
/// ```
public protocol OpenAIBatchStore: Sendable {
    /// Records a batch being validated; its lease says until when its creator may take to
    /// validate it, after which ``failAbandonedValidations(now:)`` fails it.
    /// - throws: a ``JobQueue/StoreError``.
    func insert(_ batch: OpenAIBatch, leaseUntil: Timestamp) throws

    /// The input is valid and its jobs are enqueued: `validating` becomes `in_progress` (a batch
    /// cancelled meanwhile stays `cancelling`).
    /// - parameter jobsBatchID: nil when no line had an agent to run it.
    /// - returns: the status now.
    /// - throws: a ``JobQueue/StoreError``.
    func start(id: String, jobsBatchID: String?, total: Int, rejected: [OpenAIRejectedLine], now: Timestamp) throws
        -> OpenAIBatchStatus?

    /// The input file was refused: `failed`, with why.
    /// - throws: a ``JobQueue/StoreError``.
    func fail(id: String, errors: [OpenAIBatchLineError], now: Timestamp) throws

    /// Fails the batches whose validation outlived its lease (their creator died).
    /// - returns: the agentq batches they had started, to cancel.
    /// - throws: a ``JobQueue/StoreError``.
    func failAbandonedValidations(now: Timestamp) throws -> [String]

    /// Asks to cancel a batch that is validating or running.
    /// - returns: whether this call moved it to `cancelling`.
    /// - throws: a ``JobQueue/StoreError``.
    func requestCancel(id: String, now: Timestamp) throws -> Bool

    /// Takes the right to write a batch's output files, for `leaseMilliseconds`: `in_progress`
    /// becomes `finalizing` (a `cancelling` batch stays so). Nil when another process holds it
    /// or the batch is not waiting for its files.
    /// - throws: a ``JobQueue/StoreError``.
    func claimFinalization(id: String, now: Timestamp, leaseMilliseconds: Int64) throws -> OpenAIBatch?

    /// The files are written: `completed` (or `cancelled` after a cancel), with its final counts.
    /// - throws: a ``JobQueue/StoreError``.
    func finish(id: String, outputFileID: String?, errorFileID: String?, completed: Int, failed: Int, now: Timestamp) throws

    /// - throws: a ``JobQueue/StoreError``.
    func batch(id: String) throws -> OpenAIBatch?

    /// Batches newest first, those created before `after` (an ID) when given.
    /// - throws: a ``JobQueue/StoreError``.
    func batches(limit: Int, after: String?) throws -> [OpenAIBatch]

    /// The IDs of batches still running or waiting for their files.
    /// - throws: a ``JobQueue/StoreError``.
    func unfinishedIDs() throws -> [String]

    /// The lines of a batch that found no agent, in file order.
    /// - throws: a ``JobQueue/StoreError``.
    func rejectedLines(batchID: String) throws -> [OpenAIRejectedLine]
}

extension OpenAIBatchStore {
    /// The newest batches.
    /// - throws: a ``JobQueue/StoreError``.
    public func batches(limit: Int) throws -> [OpenAIBatch] { try batches(limit: limit, after: nil) }
}
