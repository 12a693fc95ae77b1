import Dispatch
import Foundation

/// A pool of Dispatch workers that claim jobs from a ``JobStore`` and run them with a ``JobHandler``.
///
/// One coordinating thread (the caller of ``run()``) talks to the store: each round trip
/// commits the attempts that finished since the last one and claims as many jobs as there
/// are free workers, in one transaction. It also renews leases, turns cancel requests into
/// fired ``CancellationToken``s, rescues jobs whose worker died, and hands finished jobs to
/// the ``FinishedJobSink`` on a queue of its own.
///
/// A ``JobHandler`` runs each job on a thread of its own, so `concurrency` threads are
/// started. An ``AsyncJobHandler`` runs each job as a task instead: `concurrency` is then how
/// many jobs are in flight (thousands are fine), and ``WorkerOptions/threads`` Dispatch threads
/// do the jobs' blocking work and write their results.
///
/// ```swift
/// let pool = WorkerPool(store: store, handler: handler, sink: results,
///                       options: WorkerOptions(mode: .drain, concurrency: 8))
/// let summary = try pool.run()
/// ```
public final class WorkerPool: @unchecked Sendable {
    public let store: any JobStore
    public let handler: any JobHandler
    public let sink: any FinishedJobSink
    public let options: WorkerOptions
    public let timeSource: any TimeSource

    private let workerCondition = NSCondition()   // guards every var below
    private let coordinatorWake = DispatchSemaphore(value: 0)
    private let deliveryQueue = DispatchQueue(label: "agentq.worker.delivery")
    /// The handler's asynchronous form, when it has one, and the threads that serve its jobs.
    private let asyncHandler: (any AsyncJobHandler)?
    private var threads: WorkerThreads?
    /// Result deliveries made before the commit, gathered so the sink flushes once per group.
    private let deliveries: GroupedDelivery<JobOutcome>

    private var ready: [Job] = []
    private var readyHead = 0
    private var tokens: [Int64: CancellationToken] = [:]   // claimed and not yet committed
    /// Claimed jobs whose handler has not returned (ready or running). A job's slot frees
    /// when its handler returns, not when its result is written: the next job's model call
    /// overlaps the write, instead of every slot waiting on the disk. Up to
    /// ``finishedWaitingLimit`` finished jobs wait for their results meanwhile.
    private var handling = 0
    /// Jobs of an asynchronous handler started and not returned yet: at most `concurrency`.
    /// Claimed ones beyond (the prefetch) wait in `ready` and start as soon as one returns,
    /// without waiting for the coordinator's next round trip.
    private var asyncRunning = 0
    private var outcomes: [JobOutcome] = []
    private var delivered: [Job] = []
    private var delivering: Set<Int64> = []
    private var stopRequestedAt: Timestamp?
    private var graceMilliseconds: Int64 = 0
    private var workersExit = false
    private var summary = WorkerSummary()
    private var averageJobMilliseconds: Double?
    /// Set by a wake-up from another process: claim and look for cancel requests now.
    private var woken = false

    public init(
        store: any JobStore, handler: any JobHandler, sink: any FinishedJobSink, options: WorkerOptions,
        timeSource: any TimeSource = SystemTimeSource()
    ) {
        self.store = store
        self.handler = handler
        self.asyncHandler = handler as? any AsyncJobHandler
        self.sink = sink
        self.options = options
        let wake = coordinatorWake
        // The coordinator is woken once per group delivered: its next exchange then commits the
        // whole group, instead of one job per wake-up.
        self.deliveries = GroupedDelivery(sink: sink, log: options.log, afterGroup: { wake.signal() })
        self.timeSource = timeSource
    }

    /// Asks the pool to stop: claim nothing more, let running jobs finish for up to
    /// `graceMilliseconds`, then cancel them and put them back in the queue. Safe from any thread.
    public func shutdown(graceMilliseconds: Int64) {
        workerCondition.lock()
        if stopRequestedAt == nil {
            stopRequestedAt = timeSource.now()
            self.graceMilliseconds = graceMilliseconds
        } else {
            self.graceMilliseconds = min(self.graceMilliseconds, graceMilliseconds)
        }
        workerCondition.unlock()
        coordinatorWake.signal()
    }

    /// Runs until the mode's end (or a shutdown) and every finished job has been delivered.
    /// - throws: a ``StoreError`` the pool could not recover from.
    @discardableResult
    public func run() throws -> WorkerSummary {
        if asyncHandler != nil {
            let threads = WorkerThreads(count: options.threads ?? min(options.concurrency, WorkerOptions.defaultThreads))
            workerCondition.lock()
            self.threads = threads
            workerCondition.unlock()
        } else {
            for index in 0..<options.concurrency {
                DispatchQueue(label: "agentq.worker.\(index)").async { self.workerLoop() }
            }
        }
        var stopListening: (@Sendable () -> Void)?
        do {
            stopListening = try options.wake?.listen { [weak self] in self?.wake() }
        } catch {
            options.log("no wake-ups from other processes (\(error)); looking for new jobs every \(options.pollMilliseconds) ms")
        }
        defer {
            stopListening?()
            workerCondition.lock()
            workersExit = true
            workerCondition.broadcast()
            let threads = self.threads
            workerCondition.unlock()
            threads?.stop()
        }
        try coordinate()
        workerCondition.lock()
        defer { workerCondition.unlock() }
        return summary
    }

    /// Another process enqueued jobs or asked for a cancel: the coordinator claims and renews
    /// leases (which reports cancel requests) at once.
    private func wake() {
        workerCondition.lock()
        woken = true
        workerCondition.unlock()
        coordinatorWake.signal()
    }

    // MARK: - Worker threads

    private func workerLoop() {
        workerCondition.lock()
        while true {
            while readyHead == ready.count && !workersExit { workerCondition.wait() }
            guard let job = takeReady() else { break }
            let token = tokens[job.seq] ?? CancellationToken()
            workerCondition.unlock()
            let started = DispatchTime.now().uptimeNanoseconds
            let result: Result<String, any Error> = token.isCancelled ? .failure(JobCancelled()) : Result { try handler.run(job, token: token) }
            finish(job, token: token, result: result, startedNanoseconds: started)
            workerCondition.lock()
        }
        workerCondition.unlock()
    }

    /// Starts a claimed job of an asynchronous handler as a task; its end is recorded on a worker thread.
    private func start(_ job: Job, token: CancellationToken, handler: any AsyncJobHandler, threads: WorkerThreads) {
        let started = DispatchTime.now().uptimeNanoseconds
        Task(executorPreference: threads) {
            let result: Result<String, any Error>
            if token.isCancelled {
                result = .failure(JobCancelled())
            } else {
                do {
                    result = .success(try await handler.run(job, token: token, threads: threads))
                } catch {
                    result = .failure(error)
                }
            }
            // The result file's write and fsync block: on one of the worker threads, never on a
            // cooperative one (the task runs on the worker threads unless it was moved off them).
            if threads.isCurrent {
                self.finish(job, token: token, result: result, startedNanoseconds: started)
            } else {
                threads.submit { self.finish(job, token: token, result: result, startedNanoseconds: started) }
            }
        }
    }

    /// Records how a job's attempt ended: its resolution, metrics, the result delivered
    /// before the commit where the store allows it, and the outcome for the next round trip.
    private func finish(_ job: Job, token: CancellationToken, result: Result<String, any Error>, startedNanoseconds: UInt64) {
        workerCondition.lock()
        handling -= 1
        if asyncHandler != nil { asyncRunning -= 1 }
        workerCondition.unlock()
        if asyncHandler != nil { startReady() }
        let outcome = JobOutcome(job: job, resolution: resolution(of: job, token: token, result: result), finishedAt: timeSource.now())
        let nanoseconds = DispatchTime.now().uptimeNanoseconds - startedNanoseconds
        let elapsed = Double(nanoseconds) / 1e6
        QueueMetrics.jobDuration(for: outcome.resolution).recordNanoseconds(Int64(truncatingIfNeeded: nanoseconds))
        guard !store.deliversAfterCommit, let finished = outcome.finishedJob else {
            report(outcome, elapsed: elapsed)
            return
        }
        // Delivered before the commit, in groups: jobs that finish together share the sink's
        // flush to the disk, and a crash in between only means the job runs (and is written)
        // again. A job whose delivery failed is delivered after it commits.
        let deliveredHere = deliveries.deliver(outcome, job: finished) { [self] outcome, delivered in
            var outcome = outcome
            outcome.delivered = delivered
            report(outcome, elapsed: elapsed, wake: false)   // woken after the group
        }
        // Left to a delivery under way (the disk is busy): its slot is free now, so the
        // coordinator can claim the next job instead of waiting for the write.
        if !deliveredHere { coordinatorWake.signal() }
    }

    /// Hands a finished attempt to the coordinator for the next round trip, and counts how long
    /// it took in the average the prefetch follows.
    private func report(_ outcome: JobOutcome, elapsed: Double, wake: Bool = true) {
        workerCondition.lock()
        averageJobMilliseconds = averageJobMilliseconds.map { $0 * 0.9 + elapsed * 0.1 } ?? elapsed
        outcomes.append(outcome)
        workerCondition.unlock()
        if wake { coordinatorWake.signal() }
    }

    private func resolution(of job: Job, token: CancellationToken, result: Result<String, any Error>) -> JobOutcome.Resolution {
        if case .failure(let error) = result, let reason = token.reason {
            // An error raised while the token was firing is the cancellation showing through.
            let output = (error as? JobCancelled)?.output ?? (error as? JobFailure)?.output
            return resolution(for: reason, output: output)
        }
        do {
            return .succeeded(output: try result.get())
        } catch {
            switch error {
            case let failure as JobFailure:
                if failure.retryable && job.attempts < job.maxAttempts {
                    let delay = max(options.backoff.delay(afterAttempt: job.attempts), failure.retryAfterMilliseconds ?? 0)
                    return .retry(failure.error, at: timeSource.now().adding(milliseconds: delay), output: failure.output)
                }
                return .failed(failure.error, output: failure.output)
            case let cancelled as JobCancelled:
                return resolution(for: .requested, output: cancelled.output)
            case let storeError as StoreError where storeError.isTransient:
                // The database was locked or failing for a while: not the job's fault, so it
                // goes back with backoff while it has attempts left, instead of failing.
                let error = JobError(type: "database_unavailable", message: storeError.message)
                if job.attempts < job.maxAttempts {
                    let delay = max(options.backoff.delay(afterAttempt: job.attempts), 1000)
                    return .retry(error, at: timeSource.now().adding(milliseconds: delay), output: nil)
                }
                return .failed(error, output: nil)
            default:
                return .failed(JobError(type: "internal_error", message: "\(error)"), output: nil)
            }
        }
    }

    /// Claimed jobs to hold beyond the free workers: the configured number, or by default
    /// about 20 ms of work per worker when jobs are short and none when they are long, so
    /// other processes can take long jobs.
    private func prefetchNow() -> Int {
        if let fixed = options.prefetch { return fixed }
        workerCondition.lock()
        let average = averageJobMilliseconds
        workerCondition.unlock()
        guard let average, average < 20 else { return 0 }
        return min(512, Int(Double(options.concurrency) * 20 / max(average, 0.02)))
    }

    private func resolution(for reason: CancellationReason, output: String?) -> JobOutcome.Resolution {
        switch reason {
        case .requested:
            return .cancelled(JobError(type: "cancelled", message: "cancelled while running"), output: output)
        case .shutdown, .leaseLost:
            return .requeue
        }
    }

    // MARK: - Coordinator

    /// The coordinator's clock and bookkeeping between two passes of its loop.
    private struct CoordinatorState {
        var nextClaim: Timestamp
        var nextHeartbeat: Timestamp
        var nextMaintenance: Timestamp
        var claimedTotal = 0
        var shutdownCancelled = false
        var lastClaimFoundNothing = false
    }

    /// What the workers and the delivery queue reported since the last pass.
    private struct Reports {
        var outcomes: [JobOutcome]
        var delivered: [Job]
        var stopping: Timestamp?
        /// Claimed and not committed yet.
        var inFlight: Int
        /// Claimed and not returned by the handler yet: the slots in use.
        var handling: Int
        var deliveriesPending: Int
        /// A wake-up came from another process since the last pass.
        var woken: Bool
    }

    /// One pass: commit what finished and claim more in one round trip, renew leases, run
    /// maintenance, apply the shutdown grace period; then sleep until the next thing is due.
    private func coordinate() throws {
        let start = timeSource.now()
        try maintain(now: start)
        var state = CoordinatorState(
            nextClaim: start, nextHeartbeat: start.adding(milliseconds: options.heartbeatMilliseconds),
            nextMaintenance: start.adding(milliseconds: maintenanceInterval))
        while true {
            let reports = takeReports()
            let now = timeSource.now()
            if reports.woken {
                state.nextClaim = min(state.nextClaim, now)
                state.nextHeartbeat = min(state.nextHeartbeat, now)
            }
            let capacity = claimCapacity(reports, state: state)
            try roundTrip(reports, capacity: capacity, now: now, state: &state)
            if now >= state.nextHeartbeat {
                try renewLeases(now: now)
                state.nextHeartbeat = now.adding(milliseconds: options.heartbeatMilliseconds)
            }
            if now >= state.nextMaintenance {
                try maintain(now: now)
                state.nextMaintenance = now.adding(milliseconds: maintenanceInterval)
            }
            if let stopping = reports.stopping, !state.shutdownCancelled,
                now.milliseconds >= stopping.milliseconds + currentGrace()
            {
                state.shutdownCancelled = true
                cancelAllRunning(.shutdown)
            }
            if try isFinished(reports, state: state) { return }
            // The last outcomes were just committed and nothing else is under way: look again at
            // once (a drain ends now) instead of sleeping until the next poll.
            if !reports.outcomes.isEmpty && isQuiet() { continue }
            sleepUntilDue(reports, capacity: capacity, state: state)
        }
    }

    /// Takes the outcomes and deliveries reported so far; once stopping, jobs claimed but not
    /// started yet go straight back to the queue with them.
    private func takeReports() -> Reports {
        workerCondition.lock()
        defer { workerCondition.unlock() }
        var taken = outcomes
        outcomes.removeAll(keepingCapacity: true)
        for outcome in taken { tokens[outcome.job.seq] = nil }
        let now = timeSource.now()
        if stopRequestedAt != nil && readyHead < ready.count {
            for job in ready[readyHead...] {
                tokens[job.seq] = nil
                handling -= 1
                taken.append(JobOutcome(job: job, resolution: .requeue, finishedAt: now))
            }
            ready.removeAll()
            readyHead = 0
        }
        let deliveredNow = delivered
        delivered.removeAll(keepingCapacity: true)
        let wokenNow = woken
        woken = false
        return Reports(
            outcomes: taken, delivered: deliveredNow, stopping: stopRequestedAt, inFlight: tokens.count,
            handling: handling, deliveriesPending: delivering.count, woken: wokenNow)
    }

    /// Finished jobs that may wait for their results to be written (and then committed) while
    /// new ones run: enough to fill a delivery group. Short jobs then reach the disk in large
    /// groups, one flush for many files (four workers' jobs went out a few at a time, a
    /// `syncfs` and a commit for each few); a disk slower than the jobs holds the claims back.
    private var finishedWaitingLimit: Int { max(options.concurrency, deliveries.maxGroup) }

    /// How many jobs to claim now: none while stopping, one in `once` mode, else the free
    /// slots plus the prefetch, with at most ``finishedWaitingLimit`` finished jobs waiting
    /// for their results to be written.
    private func claimCapacity(_ reports: Reports, state: CoordinatorState) -> Int {
        guard reports.stopping == nil else { return 0 }
        switch options.mode {
        case .once: return state.claimedTotal == 0 ? 1 : 0
        case .forever, .drain:
            let limit = options.concurrency + prefetchNow()
            return min(limit - reports.handling, limit + finishedWaitingLimit - reports.inFlight)
        }
    }

    /// Commits finished attempts and delivery marks and claims new jobs, in one exchange.
    private func roundTrip(_ reports: Reports, capacity: Int, now: Timestamp, state: inout CoordinatorState) throws {
        let claimNow = capacity > 0 && now >= state.nextClaim
        guard !reports.outcomes.isEmpty || !reports.delivered.isEmpty || claimNow else { return }
        let result = try exchangeRetrying(ExchangeRequest(
            workerID: options.workerID, now: now, outcomes: reports.outcomes, delivered: reports.delivered,
            claimLimit: claimNow ? capacity : 0, claimScope: options.scope, leaseMilliseconds: options.leaseMilliseconds,
            hostID: options.hostID))
        record(reports.outcomes.filter { !result.refused.contains($0.job.seq) })
        if claimNow {
            if !result.claimed.isEmpty { QueueMetrics.claims.increment(by: result.claimed.count) }
            state.claimedTotal += result.claimed.count
            state.lastClaimFoundNothing = result.claimed.isEmpty
            state.nextClaim = result.claimed.count < capacity ? now.adding(milliseconds: options.pollMilliseconds) : now
        }
        deliver(result.finished)
        if !result.claimed.isEmpty { hand(result.claimed) }
    }

    /// Whether the pool is done: nothing in flight or being delivered, and the mode's end reached.
    private func isFinished(_ reports: Reports, state: CoordinatorState) throws -> Bool {
        let idle = reports.inFlight == 0 && reports.outcomes.isEmpty && reports.deliveriesPending == 0
            && reports.delivered.isEmpty
        guard idle && isQuiet() else { return false }
        if reports.stopping != nil { return true }
        switch options.mode {
        case .once:
            return state.claimedTotal > 0 || state.lastClaimFoundNothing
        case .drain:
            guard try state.lastClaimFoundNothing && !storeHasUnfinishedJobs() else { return false }
            // One more pass: results finished by other processes reach their files too.
            try maintain(now: timeSource.now())
            return isQuiet()
        case .forever:
            return false
        }
    }

    /// Waits (at most a second, or less when woken by a worker) until the next claim,
    /// heartbeat, maintenance or end of the grace period is due.
    private func sleepUntilDue(_ reports: Reports, capacity: Int, state: CoordinatorState) {
        var wakeAt = min(state.nextHeartbeat, state.nextMaintenance)
        if capacity > 0 { wakeAt = min(wakeAt, state.nextClaim) }
        if let stopping = reports.stopping, !state.shutdownCancelled {
            wakeAt = min(wakeAt, stopping.adding(milliseconds: currentGrace()))
        }
        let waitMilliseconds = max(0, wakeAt.milliseconds - timeSource.now().milliseconds)
        if waitMilliseconds > 0 {
            _ = coordinatorWake.wait(timeout: .now() + .milliseconds(Int(min(waitMilliseconds, 1000))))
        }
    }

    private var maintenanceInterval: Int64 { max(1000, min(5000, options.leaseMilliseconds / 2)) }

    private func currentGrace() -> Int64 {
        workerCondition.lock()
        defer { workerCondition.unlock() }
        return graceMilliseconds
    }

    /// Nothing reported and not yet taken, nothing being delivered.
    private func isQuiet() -> Bool {
        workerCondition.lock()
        defer { workerCondition.unlock() }
        return outcomes.isEmpty && delivered.isEmpty && delivering.isEmpty && tokens.isEmpty
    }

    private func record(_ committed: [JobOutcome]) {
        guard !committed.isEmpty else { return }
        workerCondition.lock()
        for outcome in committed {
            switch outcome.resolution {
            case .succeeded: summary.succeeded += 1
            case .failed: summary.failed += 1
            case .cancelled: summary.cancelled += 1
            case .retry:
                summary.retried += 1
                QueueMetrics.retries.increment()
            case .requeue: summary.requeued += 1
            }
        }
        workerCondition.unlock()
    }

    private func hand(_ jobs: [Job]) {
        workerCondition.lock()
        handling += jobs.count
        for job in jobs {
            tokens[job.seq] = CancellationToken()
            ready.append(job)
        }
        if asyncHandler != nil {
            workerCondition.unlock()
            startReady()
            return
        }
        if jobs.count == 1 { workerCondition.signal() } else { workerCondition.broadcast() }
        workerCondition.unlock()
    }

    /// The oldest ready job, taken off the list (the caller holds `workerCondition`).
    private func takeReady() -> Job? {
        guard readyHead < ready.count else { return nil }
        let job = ready[readyHead]
        readyHead += 1
        if readyHead == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyHead = 0
        }
        return job
    }

    /// Starts ready jobs of an asynchronous handler while fewer than `concurrency` run.
    private func startReady() {
        guard let asyncHandler else { return }
        var starting: [(Job, CancellationToken)] = []
        workerCondition.lock()
        guard let threads else {
            workerCondition.unlock()
            return
        }
        // Once stopping, ready jobs stay put: the coordinator hands them back to the queue.
        while stopRequestedAt == nil && asyncRunning < options.concurrency, let job = takeReady() {
            asyncRunning += 1
            starting.append((job, tokens[job.seq] ?? CancellationToken()))
        }
        workerCondition.unlock()
        for (job, token) in starting { start(job, token: token, handler: asyncHandler, threads: threads) }
    }

    private func cancelAllRunning(_ reason: CancellationReason) {
        workerCondition.lock()
        let all = Array(tokens.values)
        workerCondition.unlock()
        for token in all { token.cancel(reason) }
    }

    private func renewLeases(now: Timestamp) throws {
        workerCondition.lock()
        let held = tokens
        workerCondition.unlock()
        guard !held.isEmpty else { return }
        let leases = try retrying { try store.heartbeat(workerID: options.workerID, leaseUntil: now.adding(milliseconds: options.leaseMilliseconds)) }
        let present = Set(leases.map(\.seq))
        for lease in leases where lease.cancelRequested { held[lease.seq]?.cancel(.requested) }
        // Committed outcomes leave `tokens` before their exchange, so anything held but absent is lost.
        for (seq, token) in held where !present.contains(seq) {
            workerCondition.lock()
            let stillHeld = tokens[seq] != nil
            workerCondition.unlock()
            if stillHeld { token.cancel(.leaseLost) }
        }
    }

    /// Rescues expired leases and delivers finished jobs nobody delivered (after a crash, or
    /// finished by a process that cancelled them).
    private func maintain(now: Timestamp) throws {
        let rescued = try retrying { try store.rescueExpiredLeases(now: now) }
        let abandoned = try retrying { try store.cleanUpAbandonedSubmissions(now: now) }
        if abandoned > 0 { options.log("cleaned up \(abandoned) bulk submission(s) whose process died half-way") }
        if rescued > 0 {
            QueueMetrics.rescued.increment(by: rescued)
            workerCondition.lock()
            summary.rescued += rescued
            workerCondition.unlock()
            options.log("rescued \(rescued) job(s) whose worker stopped renewing its lease")
        }
        options.maintenance?()
        let pending = try retrying { try store.undeliveredJobs(limit: 10_000) }
        workerCondition.lock()
        let fresh = pending.filter { !delivering.contains($0.seq) }
        workerCondition.unlock()
        deliver(fresh)
    }

    private func deliver(_ jobs: [Job]) {
        guard !jobs.isEmpty else { return }
        workerCondition.lock()
        for job in jobs { delivering.insert(job.seq) }
        workerCondition.unlock()
        deliveryQueue.async {
            var succeeded = true
            do {
                try self.sink.deliver(jobs)
            } catch {
                succeeded = false
                self.options.log("could not deliver \(jobs.count) finished job(s), will try again: \(error)")
            }
            self.workerCondition.lock()
            for job in jobs { self.delivering.remove(job.seq) }
            if succeeded { self.delivered.append(contentsOf: jobs) }
            self.workerCondition.unlock()
            self.coordinatorWake.signal()
        }
    }

    private func storeHasUnfinishedJobs() throws -> Bool {
        try retrying { try store.hasUnfinishedJobs(in: options.scope) }
    }

    private func exchangeRetrying(_ request: ExchangeRequest) throws -> ExchangeResult {
        try retrying { try store.exchange(request) }
    }

    /// Store calls are retried: a database that is locked or failing for a while (transient
    /// errors) must not kill a worker that holds running jobs, so those are retried for as
    /// long as they last, with backoff; its jobs keep running meanwhile, and their leases are
    /// checked again once the database is back. Other store errors are retried a few times.
    private func retrying<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as StoreError where error.isTransient || attempt < 5 {
                attempt += 1
                if attempt <= 5 || attempt % 20 == 0 {
                    options.log("store error, retrying (attempt \(attempt)): \(error.message)")
                }
                Thread.sleep(forTimeInterval: min(2, 0.2 * Double(attempt)))
                if stopRequested && !error.isTransient { throw error }
            }
        }
    }

    private var stopRequested: Bool {
        workerCondition.lock()
        defer { workerCondition.unlock() }
        return stopRequestedAt != nil
    }
}
