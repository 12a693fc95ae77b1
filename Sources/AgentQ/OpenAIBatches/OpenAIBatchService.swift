import Foundation
import JobQueue

/// The OpenAI Batch API on an agentq home: batches made from uploaded files, run as agentq
/// batches by any worker, and finished with output and error files in OpenAI's format.
///
/// Output files are written when the jobs are all finished, by whichever process first sees
/// it: a client retrieving the batch, or the server's periodic ``finalizeDue(now:)``.
///
/// ```swift
/// let service = OpenAIBatchService(queue: queue, defaultAgent: "echo")
/// let batch = try service.create(inputFileID: file.id, endpoint: "/v1/chat/completions", completionWindow: "24h")
/// let later = try service.batch(id: batch.id)   // status, request_counts, output_file_id…
/// ```
public struct OpenAIBatchService: Sendable {
    public enum CancelOutcome: Sendable {
        /// Now (or already) `cancelling`, or finished by the cancel.
        case cancelling(OpenAIBatch)
        /// Already finished (or finalizing): nothing left to cancel.
        case notCancellable(OpenAIBatch)
    }

    public static let supportedEndpoint = "/v1/chat/completions"
    public static let supportedWindow = "24h"
    /// How long a finalizer may take before another process takes over.
    static let finalizeLeaseMilliseconds: Int64 = 5 * 60_000
    /// How long a creator may take to validate an input file before the batch counts as abandoned.
    static let validateLeaseMilliseconds: Int64 = 60 * 60_000

    public let queue: AgentQueue
    public let files: OpenAIFileStore
    public let batches: any OpenAIBatchStore
    /// The server's `--default-agent`.
    public let defaultAgent: String?

    /// The service of a queue: its files and batches in the queue's database (SQLite or PostgreSQL).
    public init(queue: AgentQueue, defaultAgent: String?) {
        self.init(queue: queue, files: OpenAIFileStore(queue: queue), batches: queue.openAIBatches, defaultAgent: defaultAgent)
    }

    /// The service on stores of any driver (``PostgresOpenAIBatchStore`` and
    /// ``PostgresOpenAIFileMetadataStore`` when the queue is in PostgreSQL).
    public init(queue: AgentQueue, files: OpenAIFileStore, batches: any OpenAIBatchStore, defaultAgent: String?) {
        self.queue = queue
        self.files = files
        self.batches = batches
        self.defaultAgent = defaultAgent
    }

    /// Validates the input file and enqueues its lines: the batch comes back `in_progress`, or
    /// `failed` with `errors` when the file is not a valid batch input.
    /// - parameter metadata: JSON text of the metadata object; its `agent` runs lines whose model names no agent.
    /// - throws: ``AgentQError`` `.notFound` for an unknown file, `.invalidInput` for a bad endpoint,
    ///   window, file purpose or `metadata.agent`; a ``JobQueue/StoreError``.
    public func create(
        inputFileID: String, endpoint: String, completionWindow: String, metadata: String? = nil, metadataAgent: String? = nil
    ) throws -> OpenAIBatch {
        guard endpoint == Self.supportedEndpoint else {
            throw AgentQError(.invalidInput, "endpoint '\(endpoint)' is not supported: agentq runs \(Self.supportedEndpoint) only")
        }
        guard completionWindow == Self.supportedWindow else {
            throw AgentQError(.invalidInput, "completion_window '\(completionWindow)' is not supported: use \(Self.supportedWindow)")
        }
        guard let file = try files.file(id: inputFileID) else {
            throw AgentQError(.notFound, "no file with ID '\(inputFileID)'")
        }
        guard file.purpose == "batch" else {
            throw AgentQError(.invalidInput, "file '\(inputFileID)' has purpose '\(file.purpose)'; a batch input needs purpose 'batch'")
        }
        var fallback: String?
        if let metadataAgent {
            guard Name.problem(with: metadataAgent, as: .agent) == nil, try queue.agents.agent(named: metadataAgent) != nil else {
                throw AgentQError(.invalidInput, "metadata.agent '\(metadataAgent)' is not an agent (see GET /agents)")
            }
            fallback = metadataAgent
        } else if let defaultAgent, try queue.agents.agent(named: defaultAgent) != nil {
            fallback = defaultAgent
        }
        let now = Timestamp.now
        var batch = OpenAIBatch(
            id: SortableID.make(prefix: "batch_"), inputFileID: inputFileID, endpoint: endpoint,
            completionWindow: completionWindow, metadata: metadata, fallbackAgent: fallback,
            jobsBatchID: SortableID.make(prefix: "bat_"), status: .validating, createdAt: now)
        batch.expiresAt = now.adding(milliseconds: 24 * 3_600_000)
        try batches.insert(batch, leaseUntil: now.adding(milliseconds: Self.validateLeaseMilliseconds))
        try validateAndEnqueue(batch, file: file)
        return try self.batch(id: batch.id) ?? batch
    }

    private func validateAndEnqueue(_ batch: OpenAIBatch, file: OpenAIFile) throws {
        var converter = OpenAIBatchLineConverter(batchID: batch.id, fallbackAgent: batch.fallbackAgent, agents: queue.agents)
        var rejected: [OpenAIRejectedLine] = []
        var errors: [OpenAIBatchLineError] = []
        var total = 0
        var enqueued = 0
        var inserted = 0
        do {
            let reader = try BulkFileReader(contentsOf: files.contentURL(id: file.id), source: file.filename)
            let summary = try queue.store.enqueue(batch: NewBatch(id: batch.jobsBatchID!, source: "openai \(batch.id)")) { inserter in
                while let entries = try reader.next() {
                    for entry in entries {
                        total += 1
                        switch try converter.convert(entry) {
                        case .job(let job):
                            if errors.isEmpty {
                                try inserter.insert(job)
                                inserted += 1
                            }
                        case .rejected(let line): rejected.append(line)
                        case .invalid(let error): if errors.count < 100 { errors.append(error) }
                        }
                    }
                }
                if total == 0 { errors.append(OpenAIBatchLineError(code: "empty_file", message: "the input file has no requests")) }
                // Throwing removes whatever was staged: nothing runs from an invalid file, and
                // no empty agentq batch is left when no line has an agent.
                if !errors.isEmpty || inserted == 0 { throw NothingEnqueued() }
            }
            enqueued = summary.count
        } catch is NothingEnqueued {
        } catch let problem as SubmitRejected {
            errors.append(OpenAIBatchLineError(code: "file_unreadable", message: problem.description))
        }
        if !errors.isEmpty {
            try batches.fail(id: batch.id, errors: errors, now: .now)
            return
        }
        let jobsBatchID = enqueued > 0 ? batch.jobsBatchID : nil
        let status = try batches.start(id: batch.id, jobsBatchID: jobsBatchID, total: total, rejected: rejected, now: .now)
        if status == .cancelling, let jobsBatchID { _ = try queue.cancel(.batch(jobsBatchID)) }
    }

    /// A batch, with live request counts; its files are written first if its jobs are all done.
    /// - throws: a ``JobQueue/StoreError``, or ``AgentQError`` `.io` writing its files.
    public func batch(id: String) throws -> OpenAIBatch? {
        guard var batch = try batches.batch(id: id) else { return nil }
        if !batch.status.isFinished, batch.status != .validating, try isDone(batch) {
            try finalize(id: id, now: .now)
            batch = try batches.batch(id: id) ?? batch
        }
        return try withLiveCounts(batch)
    }

    /// Batches newest first, with live request counts.
    /// - throws: a ``JobQueue/StoreError``.
    public func list(limit: Int, after: String? = nil) throws -> [OpenAIBatch] {
        try batches.batches(limit: limit, after: after).map(withLiveCounts)
    }

    /// Cancels a batch: its queued lines do not run, running ones are asked to stop, and it
    /// ends `cancelled` with the files of what did run.
    /// - returns: nil when there is no such batch.
    /// - throws: a ``JobQueue/StoreError``.
    public func cancel(id: String) throws -> CancelOutcome? {
        guard let before = try batches.batch(id: id) else { return nil }
        if try batches.requestCancel(id: id, now: .now) {
            // A batch still validating has its jobs cancelled by its creator, once they are in
            // (see validateAndEnqueue); one that started, here. Both may: cancelling twice is harmless.
            if let now = try batches.batch(id: id), now.inProgressAt != nil, let jobsBatchID = now.jobsBatchID {
                _ = try queue.cancel(.batch(jobsBatchID))
            }
        } else if before.status != .cancelling {
            return .notCancellable(try withLiveCounts(before))
        }
        return .cancelling(try batch(id: id) ?? before)
    }

    /// Writes the files of every batch whose jobs are all finished, and fails the batches whose
    /// validation was abandoned. Safe to run in several processes at once.
    /// - returns: how many batches it finished.
    /// - throws: a ``JobQueue/StoreError``, or ``AgentQError`` `.io`.
    @discardableResult
    public func finalizeDue(now: Timestamp = .now) throws -> Int {
        for jobsBatchID in try batches.failAbandonedValidations(now: now) { _ = try queue.cancel(.batch(jobsBatchID)) }
        var finished = 0
        for id in try batches.unfinishedIDs() {
            guard let batch = try batches.batch(id: id), try isDone(batch) else { continue }
            if try finalize(id: id, now: now) { finished += 1 }
        }
        return finished
    }

    /// - returns: whether this call wrote the files (false: another process holds the batch).
    @discardableResult
    private func finalize(id: String, now: Timestamp) throws -> Bool {
        guard let batch = try batches.claimFinalization(id: id, now: now, leaseMilliseconds: Self.finalizeLeaseMilliseconds) else {
            return false
        }
        let written = try OpenAIBatchOutputWriter(jobs: queue.store, files: files)
            .write(batch, rejected: batches.rejectedLines(batchID: id))
        try batches.finish(
            id: id, outputFileID: written.outputFileID, errorFileID: written.errorFileID, completed: written.completed,
            failed: written.failed, now: .now)
        return true
    }

    /// Whether none of the batch's jobs is queued or running.
    private func isDone(_ batch: OpenAIBatch) throws -> Bool {
        guard let jobsBatchID = batch.jobsBatchID else { return true }
        let counts = try queue.store.counts(batchID: jobsBatchID)
        return counts.queued + counts.running == 0
    }

    private func withLiveCounts(_ batch: OpenAIBatch) throws -> OpenAIBatch {
        guard [.inProgress, .finalizing, .cancelling].contains(batch.status) else { return batch }
        var batch = batch
        if let jobsBatchID = batch.jobsBatchID {
            let counts = try queue.store.counts(batchID: jobsBatchID)
            batch.completed = counts.succeeded
            batch.failed = counts.failed + counts.cancelled + batch.rejected
            batch.total = counts.total + batch.rejected
        }
        return batch
    }
}

/// Thrown inside an enqueue to leave nothing enqueued.
private struct NothingEnqueued: Error {}
