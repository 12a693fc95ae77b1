import AgentQTesting
import Foundation
import JobQueue
import Testing

/// Helpers shared by the engine's tests.

/// A sink that remembers every job delivered to it.
final class CollectingSink: FinishedJobSink, @unchecked Sendable {
    private let lock = NSLock()
    private var jobs: [Job] = []

    func deliver(_ jobs: [Job]) throws {
        lock.lock()
        self.jobs.append(contentsOf: jobs)
        lock.unlock()
    }

    var delivered: [Job] {
        lock.lock()
        defer { lock.unlock() }
        return jobs
    }

    /// The IDs delivered, each once (delivery is at least once).
    var deliveredIDs: Set<String> { Set(delivered.map(\.id)) }

    /// The latest delivery of a job.
    func last(_ id: String) -> Job? { delivered.last { $0.id == id } }
}

/// The delivered end state of a job is the one the store committed.
func expectDeliveredAsStored(
    _ sink: CollectingSink, _ store: any JobStore, _ id: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let delivered = try #require(sink.last(id), "job \(id) was not delivered", sourceLocation: sourceLocation)
    let stored = try #require(try store.job(id: id), sourceLocation: sourceLocation)
    #expect(delivered.status == stored.status, sourceLocation: sourceLocation)
    #expect(delivered.status.isFinished, sourceLocation: sourceLocation)
    #expect(delivered.output == stored.output, sourceLocation: sourceLocation)
    #expect(delivered.attempts == stored.attempts, sourceLocation: sourceLocation)
    #expect(delivered.maxAttempts == stored.maxAttempts, sourceLocation: sourceLocation)
    #expect(delivered.finishedAt == stored.finishedAt, sourceLocation: sourceLocation)
    #expect(delivered.startedAt == stored.startedAt, sourceLocation: sourceLocation)
    #expect(delivered.createdAt == stored.createdAt, sourceLocation: sourceLocation)
    #expect(delivered.customID == stored.customID, sourceLocation: sourceLocation)
    #expect(delivered.input == stored.input, sourceLocation: sourceLocation)
    if stored.status != .succeeded {
        #expect(delivered.error == stored.error, sourceLocation: sourceLocation)
    }
}

/// A handler made of a closure.
struct ClosureHandler: JobHandler {
    let body: @Sendable (Job, CancellationToken) throws -> String
    init(_ body: @escaping @Sendable (Job, CancellationToken) throws -> String) { self.body = body }
    func run(_ job: Job, token: CancellationToken) throws -> String { try body(job, token) }
}

/// A handler that blocks until its token fires (or a minute passes), then stops as told.
func waitingHandler(started: Counter? = nil) -> ClosureHandler {
    ClosureHandler { _, token in
        started?.increment()
        token.wait(milliseconds: 60_000)
        throw JobCancelled(output: nil)
    }
}

/// A handler that returns at once, except for the job whose input is `long`: that one blocks
/// until its token fires (or a minute passes), then stops as told.
func longJobHandler(started: Counter) -> ClosureHandler {
    ClosureHandler { job, token in
        guard job.input == "long" else { return "{}" }
        started.increment()
        token.wait(milliseconds: 60_000)
        throw JobCancelled(output: nil)
    }
}

/// `WorkerPool.run()` on a background thread.
final class BackgroundRun: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var outcome: Result<WorkerSummary, any Error>?
    private(set) var finishedAt: Date?

    init(_ pool: WorkerPool) {
        Thread.detachNewThread {
            let result = Result { try pool.run() }
            self.lock.lock()
            self.outcome = result
            self.finishedAt = Date()
            self.lock.unlock()
            self.done.signal()
        }
    }

    /// Waits up to `seconds` for `run()` to return; `nil` when it did not.
    func wait(seconds: Double) -> Result<WorkerSummary, any Error>? {
        guard done.wait(timeout: .now() + seconds) == .success else { return nil }
        done.signal()
        lock.lock()
        defer { lock.unlock() }
        return outcome
    }
}

/// Inserts `jobs` (no batch) and returns their IDs in order.
@discardableResult
func enqueue(_ store: any JobStore, _ jobs: [NewJob], batch: NewBatch? = nil) throws -> [String] {
    var ids: [String] = []
    _ = try store.enqueue(batch: batch) { inserter in
        for job in jobs { ids.append(try inserter.insert(job)) }
    }
    return ids
}

/// One claim round trip.
func claim(
    _ store: any JobStore, worker: String = "w1", now: Timestamp = .now, limit: Int, scope: ClaimScope = .all,
    leaseMilliseconds: Int64 = 30_000
) throws -> [Job] {
    try store.exchange(ExchangeRequest(
        workerID: worker, now: now, claimLimit: limit, claimScope: scope, leaseMilliseconds: leaseMilliseconds)
    ).claimed
}

/// Commits outcomes for `worker`, claiming nothing.
@discardableResult
func commit(_ store: any JobStore, worker: String = "w1", now: Timestamp = .now, _ outcomes: [JobOutcome]) throws
    -> ExchangeResult
{
    try store.exchange(ExchangeRequest(workerID: worker, now: now, outcomes: outcomes))
}

/// The job, which must exist.
func job(_ store: any JobStore, _ id: String) throws -> Job {
    try #require(try store.job(id: id))
}

/// Options for a fast test pool.
func fastOptions(
    mode: WorkerOptions.Mode, concurrency: Int = 1, heartbeatMilliseconds: Int64 = 500,
    backoff: RetryBackoff = RetryBackoff(baseMilliseconds: 0)
) -> WorkerOptions {
    WorkerOptions(
        mode: mode, concurrency: concurrency, heartbeatMilliseconds: heartbeatMilliseconds, pollMilliseconds: 10,
        backoff: backoff)
}

/// `ID effect status`, to compare cancel outcomes (their memberwise initializer is internal).
func describe(_ outcome: CancelOutcome) -> String {
    "\(outcome.id) \(outcome.effect.rawValue) \(outcome.status?.rawValue ?? "nil")"
}

func describe(_ outcomes: [CancelOutcome]) -> [String] { outcomes.map(describe) }

func describe(_ outcome: RetryOutcome) -> String {
    "\(outcome.id) \(outcome.effect.rawValue) \(outcome.status?.rawValue ?? "nil")"
}

func describe(_ outcomes: [RetryOutcome]) -> [String] { outcomes.map(describe) }
