import Foundation
import JobQueue

/// agentq on one home directory: the job store, the agents, the result files, and workers.
///
/// ```swift
/// let queue = try AgentQueue(home: AgentQHome.resolve(explicit: nil))
/// let report = try queue.submit(fileAt: url, options: SubmitOptions(source: url.path))
/// try queue.makeWorker(WorkerOptions(mode: .drain)).run()
/// ```
public final class AgentQueue: Sendable {
    public let home: AgentQHome
    /// The database holding the state: the home's SQLite file, or a PostgreSQL database shared
    /// by many hosts (see ``QueueDatabaseChoice``).
    public let database: any QueueDatabase
    public let store: any JobStore
    public let agents: any AgentStore
    public let sessions: any SessionStore
    public let budgets: any BatchBudgetStore
    public let rateLimits: any RateLimitStore
    public let schedules: any ScheduleStore
    public let results: ResultWriter
    /// What describes the files uploaded to the OpenAI-compatible Files API (their bytes stay
    /// in this home: see ``OpenAIFileStore``).
    public let openAIFileMetadata: any OpenAIFileMetadataStore
    /// The batches of the OpenAI-compatible Batch API.
    public let openAIBatches: any OpenAIBatchStore
    /// Small named settings shared by every process (the retention policy).
    public let settings: any SettingsStore
    /// Wakes the idle workers of every process on this home after a submit, retry or cancel.
    public let wake: any WakeSignal
    /// This host's stable ID (``AgentQHome/hostID()``): its workers claim the turns of the
    /// sessions created here, whose workspaces live in this home.
    public let hostID: String
    /// `AGENTQ_SHARED_WORKSPACES=1`: this home's workspaces are on storage every host mounts at
    /// the same path, so sessions created here are tied to no host.
    public let sharedWorkspaces: Bool

    /// Opens (creating when missing) the home directory and its SQLite database.
    /// - throws: ``AgentQError`` or ``JobQueue/StoreError``.
    public convenience init(home: AgentQHome) throws {
        try self.init(home: home, database: .sqlite)
    }

    /// Opens the home with its state in the database at `databaseURL` (`postgres://…`), or in
    /// the home's SQLite file when nil.
    ///
    /// ```swift
    /// let queue = try AgentQueue(home: home, databaseURL: "postgres://agentq@db:5432/agentq")
    /// ```
    /// - throws: ``JobQueue/StoreError`` `.cannotOpen` naming the URL (never its password) when it
    ///   does not parse or the server cannot be reached; ``AgentQError``.
    public convenience init(home: AgentQHome, databaseURL: String?) throws {
        try self.init(home: home, database: databaseURL.map { .postgres(try PostgresLocation(url: $0)) } ?? .sqlite)
    }

    /// Opens (creating when missing) the home directory and the chosen database, creating or
    /// migrating its schema.
    ///
    /// ```swift
    /// let queue = try AgentQueue(home: home, database: try QueueDatabaseChoice.resolve(explicit: nil))
    /// ```
    /// - throws: ``AgentQError`` or ``JobQueue/StoreError``.
    public init(home: AgentQHome, database choice: QueueDatabaseChoice) throws {
        try home.prepare()
        self.home = home
        hostID = try home.hostID()
        sharedWorkspaces = ProcessInfo.processInfo.environment["AGENTQ_SHARED_WORKSPACES"] == "1"
        results = ResultWriter(directory: home.resultsDirectory)
        if case .postgres(let location) = choice {
            // Every host opens the same database; the schema is made or migrated by the first
            // (under an advisory lock), the others find it done.
            let database = try PGDatabase(location: location, migrations: Self.postgresMigrations)
            self.database = database
            wake = PostgresWakeSignal(database: database)
            let jobs = PostgresJobStore(database: database, wake: wake, hostID: hostID)
            store = jobs
            agents = PostgresAgentStore(database: database)
            sessions = PostgresSessionStore(database: database)
            budgets = PostgresBatchBudgetStore(database: database)
            rateLimits = PostgresRateLimitStore(database: database)
            // The queue's own job store: a fired schedule's jobs wake idle workers on every host.
            schedules = PostgresScheduleStore(database: database, jobs: jobs, agents: agents)
            settings = PostgresSettingsStore(database: database)
            openAIFileMetadata = PostgresOpenAIFileMetadataStore(database: database)
            openAIBatches = PostgresOpenAIBatchStore(database: database)
            return
        }
        let database = try SQLiteDatabase(
            path: home.databasePath, migrations: Self.migrations)
        self.database = database
        wake = UnixSocketWakeSignal(directory: home.wakeDirectory)
        store = SQLiteJobStore(database: database, wake: wake)
        agents = SQLiteAgentStore(database: database)
        sessions = SQLiteSessionStore(database: database)
        budgets = SQLiteBatchBudgetStore(database: database)
        rateLimits = SQLiteRateLimitStore(database: database)
        schedules = SQLiteScheduleStore(database: database, jobs: SQLiteJobStore(database: database), agents: agents)
        settings = SQLiteSettingsStore(database: database)
        openAIFileMetadata = SQLiteOpenAIFileMetadataStore(database: database)
        openAIBatches = SQLiteOpenAIBatchStore(database: database)
    }

    /// The home's SQLite database when the state is there (for the benchmarks and tests that
    /// reach into its tables); nil on PostgreSQL.
    public var sqliteDatabase: SQLiteDatabase? { database as? SQLiteDatabase }

    /// The submitter of this queue. With many hosts (PostgreSQL) a line naming an existing
    /// session is pinned to that session's host, where its workspace is; one host needs no pinning.
    private var submitter: Submitter {
        Submitter(store: store, agents: agents, budgets: budgets, sessions: sqliteDatabase == nil ? sessions : nil)
    }

    /// Every table agentq keeps in PostgreSQL, the engine's and the product's, in order.
    public static let postgresMigrations: [PGMigration] = PostgresJobStore.migrations + PostgresAgentStore.migrations
        + PostgresSessionStore.migrations + PostgresBatchBudgetStore.migrations + PostgresRateLimitStore.migrations
        + PostgresSettingsStore.migrations + PostgresScheduleStore.migrations + PostgresOpenAIFileMetadataStore.migrations + PostgresOpenAIBatchStore.migrations

    /// Every table agentq keeps in SQLite, the engine's and the product's, in order.
    public static let migrations = SQLiteJobStore.migrations + SQLiteAgentStore.migrations + SQLiteSessionStore.migrations
        + SQLiteBatchBudgetStore.migrations + [SpendLimits.migration] + SQLiteRateLimitStore.migrations + SQLiteSettingsStore.migrations
        + SQLiteScheduleStore.migrations + OpenAIFileStore.migrations + SQLiteOpenAIBatchStore.migrations + [SQLiteSessionStore.pagingMigration]

    /// Enqueues a bulk prompt file as one batch.
    /// - throws: ``SubmitRejected`` with every bad line, or a ``JobQueue/StoreError``.
    public func submit(_ data: Data, options: SubmitOptions) throws -> SubmitReport {
        try submitter.submit(data, options: options)
    }

    /// Enqueues the bulk prompt file at `url` as one batch, reading it a chunk at a time: memory
    /// stays that of one chunk whatever the file's size.
    ///
    /// ```swift
    /// let report = try queue.submit(fileAt: url, options: SubmitOptions(source: url.path))
    /// ```
    /// - throws: ``SubmitRejected`` with every bad line or why the file cannot be read, or a
    ///   ``JobQueue/StoreError``; either way nothing was enqueued.
    public func submit(fileAt url: URL, options: SubmitOptions) throws -> SubmitReport {
        try submit(BulkFileReader(contentsOf: url, source: options.source), options: options)
    }

    /// Enqueues what `reader` reads (a file, standard input, bytes) as one batch.
    /// - throws: ``SubmitRejected`` or a ``JobQueue/StoreError``; either way nothing was enqueued.
    public func submit(_ reader: BulkFileReader, options: SubmitOptions) throws -> SubmitReport {
        try submitter.submit(reader, options: options)
    }

    /// A worker pool that runs agent turns and writes result files.
    public func makeWorker(_ options: WorkerOptions) -> WorkerPool {
        var options = options
        if options.wake == nil { options.wake = wake }
        if options.hostID == nil { options.hostID = hostID }
        let sessionManager = SessionManager(queue: self)
        let retention = Retention(queue: self)
        // Every worker of the whole queue fires due schedules (the store makes each tick fire
        // once among them); one scoped to a batch or a session's lane runs in the foreground
        // for a user and leaves them to those.
        let firer = options.scope == .all ? ScheduleFirer(schedules: schedules) : nil
        let log = options.log
        options.maintenance = {
            sessionManager.expireIdleSessions()
            retention.applyPolicyInBackgroundIfDue(log: log)
            firer?.fireDueInBackground(log: log)
        }
        return WorkerPool(
            store: store,
            handler: TurnRunner(agents: agents, sessions: sessions, workspaces: home.workspacesDirectory, budgets: budgets,
                               rateLimits: rateLimits, hostID: sharedWorkspaces ? nil : hostID),
            sink: results, options: options)
    }

    /// Cancels jobs; the ones that were queued get their result file at once.
    public func cancel(_ selector: JobSelector) throws -> [CancelOutcome] {
        let outcomes = try store.cancel(selector, now: .now)
        // The cancel itself was synced by the store; delivery marks written after it are
        // synced too, so a power cut cannot bring back a "pending" state the user saw cleared.
        if try writePendingResults() > 0 { try database.syncCommits() }
        return outcomes
    }

    /// Puts failed or cancelled jobs back in the queue, removing their old result files.
    public func retry(ids: [String]) throws -> [RetryOutcome] {
        let outcomes = try store.retry(ids: ids, now: .now)
        for outcome in outcomes where outcome.effect == .requeued { results.remove(jobID: outcome.id) }
        return outcomes
    }

    /// Writes the result file of every finished job that does not have one yet.
    /// - returns: how many result files were written.
    @discardableResult
    public func writePendingResults() throws -> Int {
        var written = 0
        while true {
            let jobs = try store.undeliveredJobs(limit: 1000)
            if jobs.isEmpty { return written }
            try results.deliver(jobs)
            try store.markDelivered(jobs)
            written += jobs.count
            if jobs.count < 1000 { return written }
        }
    }
}
