/// How a ``WorkerPool`` runs.
public struct WorkerOptions: Sendable {
    /// When ``WorkerPool/run()`` returns.
    public enum Mode: Sendable {
        /// Until ``WorkerPool/shutdown(graceMilliseconds:)``.
        case forever
        /// Once no job is queued, running or waiting for a retry anywhere in the store.
        case drain
        /// After one job (or at once when none is ready).
        case once
    }

    public var mode: Mode
    /// Which jobs this pool claims; drain mode waits only for these.
    public var scope: ClaimScope
    /// Jobs that run at the same time in this process: threads for a ``JobHandler``, jobs in
    /// flight (tasks) for an ``AsyncJobHandler``.
    public var concurrency: Int
    /// For an ``AsyncJobHandler``: the Dispatch threads that do its jobs' blocking work and
    /// write their results; `nil` is `min(concurrency, defaultThreads)`.
    public var threads: Int?
    /// Enough threads to keep two cores busy while some of them wait on fsync, a database
    /// lock or a tool's child process.
    public static let defaultThreads = 32
    /// The most jobs one pool keeps in flight: enough for any provider's limits, and each
    /// costs a task, a socket and its memory.
    public static let maxConcurrency = 16_384
    /// Claimed jobs held ready beyond `concurrency`. Saves store round trips when jobs are
    /// short; `nil` adapts it to the jobs' duration (none when they are long, so other
    /// processes can take them).
    public var prefetch: Int?
    /// How long a claimed job stays this worker's without a heartbeat.
    public var leaseMilliseconds: Int64
    /// How often leases are renewed and cancel requests are looked for.
    public var heartbeatMilliseconds: Int64
    /// How long an idle worker waits before looking for new jobs again.
    public var pollMilliseconds: Int64
    public var backoff: RetryBackoff
    /// Identifies this process's leases; unique per pool.
    public var workerID: String
    /// This host's stable ID (see ``NewJob/host``): claims take jobs pinned to it or to no host.
    public var hostID: String?
    /// Runs on every maintenance pass (every few seconds) for the layer above's own
    /// housekeeping, such as expiring idle sessions.
    public var maintenance: (@Sendable () -> Void)?
    /// Wakes this pool when another process enqueues, retries or asks for a cancel, so it
    /// claims (and looks for cancel requests) at once; the poll and heartbeat stay the fallback.
    public var wake: (any WakeSignal)?
    /// Receives warnings the pool cannot return (a sink that failed, a store error it will retry).
    public var log: @Sendable (String) -> Void

    public init(
        mode: Mode = .forever, scope: ClaimScope = .all, concurrency: Int = 4, prefetch: Int? = nil, leaseMilliseconds: Int64 = 30_000,
        heartbeatMilliseconds: Int64 = 500, pollMilliseconds: Int64 = 100, backoff: RetryBackoff = RetryBackoff(),
        workerID: String = SortableID.make(prefix: "wrk_"), log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.mode = mode
        self.scope = scope
        self.concurrency = max(1, concurrency)
        self.prefetch = prefetch.map { max(0, $0) }
        self.leaseMilliseconds = max(1000, leaseMilliseconds)
        self.heartbeatMilliseconds = max(50, min(heartbeatMilliseconds, leaseMilliseconds / 3))
        self.pollMilliseconds = max(1, pollMilliseconds)
        self.backoff = backoff
        self.workerID = workerID
        self.log = log
        self.maintenance = nil
        self.wake = nil
        self.hostID = nil
        self.threads = nil
    }
}

/// What one ``WorkerPool/run()`` did.
public struct WorkerSummary: Sendable, Hashable {
    public var succeeded = 0
    public var failed = 0
    public var cancelled = 0
    /// Attempts that failed and went back to the queue for another try.
    public var retried = 0
    /// Jobs handed back to the queue at shutdown, their attempt not counted.
    public var requeued = 0
    /// Jobs of dead workers whose lease this pool found expired.
    public var rescued = 0

    public init() {}
}
