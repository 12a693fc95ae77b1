import Foundation
import GRDB

/// The SQLite driver of ``JobStore``: one table of jobs, claimed with a single
/// `UPDATE … RETURNING` under SQLite's write lock, so no two workers ever hold one job.
///
/// ```swift
/// let database = try SQLiteDatabase(path: path, migrations: SQLiteJobStore.migrations)
/// let store = SQLiteJobStore(database: database)
/// ```
public final class SQLiteJobStore: JobStore {
    public let database: SQLiteDatabase
    /// Nudged after each commit that makes jobs claimable or asks for a cancel, so idle
    /// workers of other processes look at once rather than at their next poll.
    public let wake: (any WakeSignal)?

    public init(database: SQLiteDatabase, wake: (any WakeSignal)? = nil) {
        self.database = database
        self.wake = wake
    }

    /// The engine's schema, in order.
    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("jobqueue-1-jobs", sql: """
            CREATE TABLE jobs (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                custom_id TEXT,
                batch_id TEXT,
                lane TEXT,
                handler TEXT NOT NULL,
                input TEXT NOT NULL,
                metadata TEXT,
                priority INTEGER NOT NULL DEFAULT 0,
                run_at INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL,
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                output TEXT,
                error_type TEXT,
                error_message TEXT,
                created_at INTEGER NOT NULL,
                started_at INTEGER,
                finished_at INTEGER,
                worker_id TEXT,
                lease_until INTEGER,
                delivery_pending INTEGER NOT NULL DEFAULT 0
            );
            -- The claim query walks this index in claim order and never sees finished rows.
            CREATE INDEX jobs_claimable ON jobs (priority DESC, seq) WHERE status = 'queued';
            -- Lane ordering: is an earlier job of this lane still open?
            CREATE INDEX jobs_lane_open ON jobs (lane, seq) WHERE status IN ('queued', 'running') AND lane IS NOT NULL;
            -- Heartbeats and lease rescue only look at running rows.
            CREATE INDEX jobs_running ON jobs (worker_id, lease_until) WHERE status = 'running';
            CREATE INDEX jobs_undelivered ON jobs (seq) WHERE delivery_pending = 1;
            CREATE INDEX jobs_batch ON jobs (batch_id, seq);
            CREATE TABLE batches (
                id TEXT PRIMARY KEY NOT NULL,
                source TEXT,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE job_attempt_errors (
                job_seq INTEGER NOT NULL,
                attempt INTEGER NOT NULL,
                error_type TEXT NOT NULL,
                error_message TEXT NOT NULL,
                at INTEGER NOT NULL
            );
            CREATE INDEX job_attempt_errors_job ON job_attempt_errors (job_seq, attempt);
            """),
        SQLiteMigration("jobqueue-2-paused-lanes", sql: """
            -- Jobs of a paused lane stay queued and are not claimed until it is resumed.
            CREATE TABLE paused_lanes (
                lane TEXT PRIMARY KEY NOT NULL,
                paused_at INTEGER NOT NULL
            );
            """),
        SQLiteMigration("jobqueue-3-versions-options-staging", sql: """
            -- Bumped by every change of state: a delivery mark clears only the state it wrote.
            ALTER TABLE jobs ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
            -- The handler's own per-job settings, kept apart from the user's metadata.
            ALTER TABLE jobs ADD COLUMN options TEXT;
            -- The attempts a job gets each time it is (re)queued by hand; NULL: max_attempts.
            ALTER TABLE jobs ADD COLUMN attempt_budget INTEGER;
            -- 'loading': a bulk submission is still writing its jobs (status 'staged', never
            -- claimed); 'committing': they are being made 'queued'; 'live': done.
            ALTER TABLE batches ADD COLUMN state TEXT NOT NULL DEFAULT 'live';
            ALTER TABLE batches ADD COLUMN touched_at INTEGER;
            CREATE INDEX batches_not_live ON batches (state) WHERE state != 'live';
            """),
        SQLiteMigration("jobqueue-4-pruned-ranges", sql: """
            -- One row per prune transaction: the lowest and highest ID it removed, so `jobs get`
            -- can say "pruned" rather than "not found" (job IDs are time-sortable) for the cost
            -- of one small row per few thousand jobs.
            CREATE TABLE pruned_job_ranges (
                first_id TEXT NOT NULL,
                last_id TEXT NOT NULL,
                jobs INTEGER NOT NULL,
                pruned_at INTEGER NOT NULL
            );
            CREATE INDEX pruned_job_ranges_first ON pruned_job_ranges (first_id);
            """),
        batchCountsMigration,
        listIndexMigration,
        batchCountsByWritersMigration,
        loadingChunksMigration,
    ]

    static let columns = """
        seq, id, custom_id, batch_id, lane, handler, input, metadata, priority, run_at, max_attempts, \
        attempts, status, cancel_requested, output, error_type, error_message, created_at, started_at, \
        finished_at, worker_id, options, version
        """

    static func job(from row: Row) -> Job {
        let errorType: String? = row[15]
        return Job(
            seq: row[0], id: row[1], customID: row[2], batchID: row[3], lane: row[4], handler: row[5],
            input: row[6], metadata: row[7], priority: row[8], runAt: Timestamp(milliseconds: row[9]),
            maxAttempts: row[10], attempts: row[11], status: JobStatus(rawValue: row[12]) ?? .failed,
            cancelRequested: row[13], output: row[14],
            error: errorType.map { JobError(type: $0, message: row[16] ?? "") },
            createdAt: Timestamp(milliseconds: row[17]),
            startedAt: (row[18] as Int64?).map(Timestamp.init(milliseconds:)),
            finishedAt: (row[19] as Int64?).map(Timestamp.init(milliseconds:)),
            workerID: row[20], options: row[21], version: row[22])
    }

    /// A write transaction; `body` also gets how long the write lock took to get, in ms.
    func write<T>(_ body: (Database, Int64) throws -> T) throws -> T {
        try database.write(body)
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try database.write { db, _ in try body(db) }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }

    // MARK: - Enqueue

    /// Jobs written per transaction by a large bulk submission: about 50 ms of work, so the
    /// write lock is free again long before any heartbeat or claim could give up on it.
    public static let rowsPerTransaction = 4096

    /// A bulk submission whose batch has not been touched for this long was abandoned (its
    /// process died); any worker's maintenance then finishes or removes it.
    public static let abandonedAfterMilliseconds: Int64 = 60_000

    /// The writer's page cache, in KiB, while a batch loads: its rows only pass through, and the
    /// connection's usual 64 MiB cache, filled by them, took a million-line submission to 125 MB
    /// of resident memory (52 MB with this, in the same time).
    static let loadingCacheKiB = 8192

    public func enqueue(batch: NewBatch?, _ body: (any JobInserter) throws -> Void) throws -> EnqueueSummary {
        let result = try enqueueCommitted(batch: batch, body)
        // The caller is about to tell a user the jobs are in: on the disk first.
        try database.syncCommits()
        wake?.notify()
        return result
    }

    private func enqueueCommitted(batch: NewBatch?, _ body: (any JobInserter) throws -> Void) throws -> EnqueueSummary {
        let now = Timestamp.now.milliseconds
        guard let batch else {
            // No batch: a handful of jobs (a session's turn), in one transaction.
            let inserter = SQLiteJobInserter(chunkRows: .max) { _ in }
            try body(inserter)
            try write { db in try SQLiteJobInserter.write(inserter.buffered, batchID: nil, now: now, db: db) }
            return EnqueueSummary(batchID: nil, count: inserter.count)
        }
        let usualCache = try database.pool.writeWithoutTransaction { db in
            let usual = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -Self.loadingCacheKiB
            try db.execute(sql: "PRAGMA cache_size = \(-Self.loadingCacheKiB)")
            return usual
        }
        defer { try? database.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = \(usualCache)") } }
        var staging = false
        let inserter = SQLiteJobInserter(chunkRows: Self.rowsPerTransaction) { rows in
            try self.writeLoadingChunk(rows, batch: batch, first: !staging, now: now)
            staging = true
        }
        do {
            try body(inserter)
            if !staging {
                // Small enough for one short transaction: the batch is live at once.
                try write { db in
                    try db.execute(
                        sql: "INSERT INTO batches (id, source, created_at) VALUES (?, ?, ?)",
                        arguments: [batch.id, batch.source, now])
                    try SQLiteJobInserter.write(inserter.buffered, batchID: batch.id, now: now, db: db)
                }
                return EnqueueSummary(batchID: batch.id, count: inserter.count)
            }
            try writeLoadingChunk(inserter.buffered, batch: batch, first: false, now: now, thenCommit: true)
        } catch {
            if staging { try? removeLoadingBatch(batch.id) }
            throw error
        }
        // Committed: from here on the batch goes live even if this process dies (see cleanUp…).
        try makeLive(batchID: batch.id)
        return EnqueueSummary(batchID: batch.id, count: inserter.count)
    }

    /// Inserts a small batch in one transaction together with the caller's own writes, so both
    /// commit or neither does.
    ///
    /// `alongWith` runs first, inside the transaction; it returns whether the batch should be
    /// inserted. Its own writes commit either way (it can record why it declined), and roll
    /// back with the batch if anything throws. The engine knows nothing of what it writes: a
    /// layer above uses this to move its own state (a schedule's next tick) in the same commit
    /// as the jobs that state stands for. Meant for a handful of jobs: they hold the write lock.
    ///
    /// ```swift
    /// let summary = try store.enqueue(batch: NewBatch(source: "schedule:nightly"), jobs: jobs) { db in
    ///     try db.execute(sql: "UPDATE schedules SET next_run_at = ? WHERE name = ? AND next_run_at = ?", arguments: [...])
    ///     return db.changesCount == 1   // another process fired it first: no batch
    /// }
    /// ```
    /// - returns: the batch and its job count, or nil when `alongWith` declined.
    /// - throws: what `alongWith` throws, or a ``StoreError``.
    public func enqueue(batch: NewBatch, jobs: [NewJob], alongWith body: (Database) throws -> Bool) throws -> EnqueueSummary? {
        try database.write(retryTransient: true) { (db, _) -> EnqueueSummary? in
            guard try body(db) else { return nil }
            let now = Timestamp.now.milliseconds
            try db.execute(
                sql: "INSERT INTO batches (id, source, created_at) VALUES (?, ?, ?)",
                arguments: [batch.id, batch.source, now])
            try SQLiteJobInserter.write(jobs, batchID: batch.id, now: now, db: db)
            return EnqueueSummary(batchID: batch.id, count: jobs.count)
        }
    }

    // MARK: - Workers

    public func exchange(_ request: ExchangeRequest) throws -> ExchangeResult {
        try write { db, waited in
            var finished: [Job] = []
            var refused: Set<Int64> = []
            var counts = BatchCountChanges()
            let memo = StatementMemo(db)
            for outcome in request.outcomes {
                switch try apply(outcome, workerID: request.workerID, now: request.now, counts: &counts, memo: memo, db: db) {
                case .applied(let job?): finished.append(job)
                case .applied(nil): break
                case .refused:
                    refused.insert(outcome.job.seq)
                    if outcome.delivered, let committed = try redeliverCommittedState(seq: outcome.job.seq, db: db) {
                        // This worker already told the sink an end state that did not commit.
                        finished.append(committed)
                    }
                }
            }
            try counts.write(db)
            if !request.delivered.isEmpty {
                // Only the state that was delivered: a newer one (retried and finished again) stays pending.
                let statement = try db.cachedStatement(
                    sql: "UPDATE jobs SET delivery_pending = 0 WHERE seq = ? AND version = ?")
                for job in request.delivered {
                    statement.setUncheckedArguments([job.seq, job.version])
                    try statement.execute()
                }
            }
            var claimed: [Job] = []
            if request.claimLimit > 0 {
                let statement = try db.cachedStatement(sql: """
                    UPDATE jobs
                    SET status = 'running', worker_id = ?1, lease_until = ?2, attempts = attempts + 1, started_at = ?3,
                        version = version + 1
                    WHERE seq IN (
                        SELECT seq FROM jobs AS j
                        WHERE status = 'queued' AND run_at <= ?3
                          AND (?5 IS NULL OR batch_id = ?5) AND (?6 IS NULL OR lane = ?6)
                          AND (lane IS NULL OR lane NOT IN (SELECT lane FROM paused_lanes))
                          AND (lane IS NULL OR NOT EXISTS (
                                SELECT 1 FROM jobs AS earlier
                                WHERE earlier.lane = j.lane AND earlier.seq < j.seq
                                  AND earlier.status IN ('queued', 'running')))
                        ORDER BY priority DESC, seq
                        LIMIT ?4)
                    RETURNING \(Self.columns)
                    """)
                let cursor = try Row.fetchCursor(
                    statement,
                    arguments: [
                        // The time spent waiting for the lock does not eat into the lease.
                        request.workerID, request.now.milliseconds + waited + request.leaseMilliseconds,
                        request.now.milliseconds, request.claimLimit, request.claimScope.batchID,
                        request.claimScope.lane,
                    ])
                while let row = try cursor.next() { claimed.append(Self.job(from: row)) }
                claimed.sort { ($0.priority, -$0.seq) > ($1.priority, -$1.seq) }
            }
            return ExchangeResult(finished: finished, claimed: claimed, refused: refused)
        }
    }

    private enum Application {
        /// Committed; carries the job in its end state when it ended and still needs delivery.
        case applied(Job?)
        /// The job is no longer this worker's.
        case refused
    }

    /// Marks a finished job for delivery again and returns it, when its committed end state
    /// must replace one a worker delivered early and could not commit.
    private func redeliverCommittedState(seq: Int64, db: Database) throws -> Job? {
        try Row.fetchOne(db, sql: """
            UPDATE jobs SET delivery_pending = 1
            WHERE seq = ? AND status IN ('succeeded', 'failed', 'cancelled')
            RETURNING \(Self.columns)
            """, arguments: [seq]).map(Self.job(from:))
    }

    /// Applies one outcome if the job is still this worker's.
    private func apply(
        _ outcome: JobOutcome, workerID: String, now: Timestamp, counts: inout BatchCountChanges, memo: StatementMemo,
        db: Database
    ) throws -> Application {
        let seq = outcome.job.seq
        if let finished = outcome.finishedJob {
            // The end state is known here, so a plain UPDATE does (no RETURNING to decode).
            let statement = try memo.statement(StatementMemo.finish) { """
                UPDATE jobs SET status = ?1, output = ?2, error_type = ?3, error_message = ?4, finished_at = ?5,
                    worker_id = NULL, lease_until = NULL, delivery_pending = ?6, version = version + 1
                WHERE seq = ?7 AND status = 'running' AND worker_id = ?8 AND batch_id IS ?9
                """ }
            statement.bind(1, finished.status.rawValue)
            statement.bind(2, finished.output)
            statement.bind(3, finished.error?.type)
            statement.bind(4, finished.error?.message)
            statement.bind(5, outcome.finishedAt.milliseconds)
            statement.bind(6, outcome.delivered ? 0 : 1)
            statement.bind(7, seq)
            statement.bind(8, workerID)
            // The batch counted below is the row's own: a job not as it was claimed is refused.
            statement.bind(9, outcome.job.batchID)
            guard try statement.stepToCompletion(db) == 1 else { return .refused }   // lease lost: not ours now
            // The output it replaced is the one claimed: nobody else writes a running job's output.
            try outputChanged(batchID: outcome.job.batchID, from: outcome.job.output, to: finished.output, memo: memo, db: db)
            counts.move(batchID: outcome.job.batchID, from: .running, to: finished.status)
            if let error = finished.error {
                try recordAttemptError(seq: seq, attempt: finished.attempts, error: error, now: now, db: db)
            }
            return .applied(outcome.delivered ? nil : finished)
        }
        let guardClause = "WHERE seq = ? AND status = 'running' AND worker_id = ? RETURNING \(Self.columns)"
        let row: Row?
        var recordedError: JobError?
        switch outcome.resolution {
        case .retry(let error, let at, let output):
            recordedError = error
            // A cancel that arrived while the attempt was failing wins over the retry.
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET
                    status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
                    run_at = ?, output = ?, error_type = ?, error_message = ?,
                    finished_at = CASE WHEN cancel_requested = 1 THEN ? END,
                    delivery_pending = cancel_requested, worker_id = NULL, lease_until = NULL, version = version + 1
                \(guardClause)
                """)
            row = try Row.fetchOne(
                statement,
                arguments: [at.milliseconds, output, error.type, error.message, now.milliseconds, seq, workerID])
        case .requeue:
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET
                    status = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'queued' END,
                    attempts = CASE WHEN cancel_requested = 1 THEN attempts ELSE attempts - 1 END,
                    error_type = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE error_type END,
                    error_message = CASE WHEN cancel_requested = 1 THEN 'cancelled while its worker shut down'
                                         ELSE error_message END,
                    finished_at = CASE WHEN cancel_requested = 1 THEN ? END,
                    delivery_pending = cancel_requested, run_at = ?, worker_id = NULL, lease_until = NULL,
                    version = version + 1
                \(guardClause)
                """)
            row = try Row.fetchOne(statement, arguments: [now.milliseconds, now.milliseconds, seq, workerID])
        case .succeeded, .failed, .cancelled:
            return .applied(nil)   // handled above
        }
        guard let row else { return .refused }   // the lease was lost: another worker owns the job now
        let job = Self.job(from: row)
        try outputChanged(batchID: job.batchID, from: outcome.job.output, to: job.output, memo: memo, db: db)
        counts.move(batchID: job.batchID, from: .running, to: job.status)
        if let recordedError {
            try recordAttemptError(seq: seq, attempt: job.attempts, error: recordedError, now: now, db: db)
        }
        return .applied(job.status.isFinished ? job : nil)
    }

    /// Runs the database's output hooks (``OutputHook``) for one job's output change, inside
    /// the transaction making it.
    private func outputChanged(
        batchID: String?, from old: String?, to new: String?, memo: StatementMemo? = nil, db: Database
    ) throws {
        guard let batchID, !database.outputHooks.isEmpty, old != new else { return }
        let memo = memo ?? StatementMemo(db)
        for (index, hook) in database.outputHooks.enumerated() where hook.matches(old) || hook.matches(new) {
            let statement = try memo.statement(StatementMemo.hook(index)) { hook.sql }
            statement.bind(1, batchID)
            statement.bind(2, old)
            statement.bind(3, new)
            try statement.stepToCompletion(db)
        }
    }

    private func recordAttemptError(seq: Int64, attempt: Int, error: JobError, now: Timestamp, db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO job_attempt_errors (job_seq, attempt, error_type, error_message, at) VALUES (?, ?, ?, ?, ?)
            """)
        statement.setUncheckedArguments([seq, attempt, error.type, error.message, now.milliseconds])
        try statement.execute()
    }

    public func heartbeat(workerID: String, leaseUntil: Timestamp) throws -> [LeaseState] {
        try write { db, waited in
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET lease_until = ? WHERE worker_id = ? AND status = 'running'
                RETURNING seq, cancel_requested
                """)
            // Extended by the lock wait: a heartbeat that waited behind another writer still
            // leaves a lease as long as it asked for, counted from when it got through.
            return try Row.fetchAll(statement, arguments: [leaseUntil.milliseconds + waited, workerID]).map {
                LeaseState(seq: $0[0], cancelRequested: $0[1])
            }
        }
    }

    public func rescueExpiredLeases(now: Timestamp) throws -> Int {
        try write { db in
            let message = "its worker stopped renewing the lease (the process died or hung)"
            let rows = try Row.fetchAll(db, sql: """
                UPDATE jobs SET
                    status = CASE WHEN cancel_requested = 1 THEN 'cancelled'
                                  WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                    error_type = CASE WHEN cancel_requested = 1 THEN 'cancelled' ELSE 'lease_expired' END,
                    error_message = CASE WHEN cancel_requested = 1 THEN 'cancelled; ' || ?2 ELSE ?2 END,
                    finished_at = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN ?1 END,
                    delivery_pending = CASE WHEN cancel_requested = 1 OR attempts >= max_attempts THEN 1 ELSE 0 END,
                    run_at = ?1, worker_id = NULL, lease_until = NULL, version = version + 1
                WHERE status = 'running' AND lease_until < ?1
                RETURNING seq, attempts, error_type, error_message, batch_id, status
                """, arguments: [now.milliseconds, message])
            var counts = BatchCountChanges()
            for row in rows {
                counts.move(batchID: row[4], from: .running, to: JobStatus(rawValue: row[5]) ?? .failed)
                try recordAttemptError(
                    seq: row[0], attempt: row[1], error: JobError(type: row[2], message: row[3]), now: now, db: db)
            }
            try counts.write(db)
            return rows.count
        }
    }

    public func undeliveredJobs(limit: Int) throws -> [Job] {
        try read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM jobs WHERE delivery_pending = 1 ORDER BY seq LIMIT ?",
                arguments: [limit]
            ).map(Self.job(from:))
        }
    }

    public func markDelivered(_ jobs: [Job]) throws {
        guard !jobs.isEmpty else { return }
        _ = try exchange(ExchangeRequest(workerID: "", now: .now, delivered: jobs))
    }

    public func hasUnfinishedJobs(in scope: ClaimScope) throws -> Bool {
        try read { db in
            switch scope {
            case .all:
                // Jobs waiting in a paused lane wait for a person, not for a worker.
                return try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued'
                                   AND (lane IS NULL OR lane NOT IN (SELECT lane FROM paused_lanes)))
                        OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running')
                    """) ?? false
            case .batch(let id):
                return try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE batch_id = ? AND status IN ('queued', 'running'))
                    """, arguments: [id]) ?? false
            case .lane(let key):
                return try Bool.fetchOne(db, sql: """
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE lane = ?1 AND status = 'running')
                        OR (EXISTS (SELECT 1 FROM jobs WHERE lane = ?1 AND status = 'queued')
                            AND NOT EXISTS (SELECT 1 FROM paused_lanes WHERE lane = ?1))
                    """, arguments: [key]) ?? false
            }
        }
    }

    // MARK: - Control

    public func cancel(_ selector: JobSelector, now: Timestamp) throws -> [CancelOutcome] {
        let result = try cancelCommitted(selector, now: now)
        try database.syncCommits()
        wake?.notify()
        return result
    }

    private func cancelCommitted(_ selector: JobSelector, now: Timestamp) throws -> [CancelOutcome] {
        try write { db in
            let cancelQueued = """
                UPDATE jobs SET status = 'cancelled', finished_at = ?1, error_type = 'cancelled',
                    error_message = 'cancelled while queued', delivery_pending = 1, version = version + 1
                """
            let requestRunning = "UPDATE jobs SET cancel_requested = 1"
            var counts = BatchCountChanges()
            switch selector {
            case .ids(let ids):
                var outcomes: [CancelOutcome] = []
                for id in ids {
                    if let row = try Row.fetchOne(
                        db, sql: "\(cancelQueued) WHERE id = ?2 AND status = 'queued' RETURNING batch_id",
                        arguments: [now.milliseconds, id])
                    {
                        counts.move(batchID: row[0], from: .queued, to: .cancelled)
                        outcomes.append(CancelOutcome(id: id, effect: .cancelled, status: .cancelled))
                    } else if try Row.fetchOne(
                        db, sql: "\(requestRunning) WHERE id = ? AND status = 'running' RETURNING seq", arguments: [id]
                    ) != nil {
                        outcomes.append(CancelOutcome(id: id, effect: .cancelRequested, status: .running))
                    } else if let status = try String.fetchOne(
                        // A staged job (its batch still loading) is not there yet for anyone.
                        db, sql: "SELECT status FROM jobs WHERE id = ? AND status != 'staged'", arguments: [id])
                    {
                        outcomes.append(
                            CancelOutcome(id: id, effect: .alreadyFinished, status: JobStatus(rawValue: status)))
                    } else {
                        outcomes.append(CancelOutcome(id: id, effect: .notFound, status: nil))
                    }
                }
                try counts.write(db)
                return outcomes
            case .batch(let value), .lane(let value):
                let column: String
                if case .batch = selector {
                    column = "batch_id"
                    // Going live: its jobs still in chunks are cancelled with the rest.
                    try Self.makeLiveNow(batchID: value, db: db)
                } else {
                    column = "lane"
                }
                let statusFilter = column == "lane" ? "status IN ('queued', 'running')" : "1"
                // Staged jobs (of a batch still going live) were never counted:
                // only the queued ones leave `unfinished`.
                let staged = column == "lane" ? 0 : try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM jobs WHERE batch_id = ? AND status = 'staged'", arguments: [value]) ?? 0
                let cancelledRows = try Row.fetchAll(
                    // Staged jobs too: those of a batch still going live.
                    db, sql: "\(cancelQueued) WHERE \(column) = ?2 AND status IN ('queued', 'staged') AND \(statusFilter) RETURNING id, batch_id",
                    arguments: [now.milliseconds, value])
                for row in cancelledRows { counts.move(batchID: row[1], from: .queued, to: .cancelled) }
                counts.add(staged, batchID: value, status: .queued)
                try counts.write(db)
                let cancelled = cancelledRows.map { $0[0] as String }
                let requested = try String.fetchAll(
                    db, sql: "\(requestRunning) WHERE \(column) = ? AND status = 'running' AND \(statusFilter) RETURNING id",
                    arguments: [value])
                return cancelled.map { CancelOutcome(id: $0, effect: .cancelled, status: .cancelled) }
                    + requested.map { CancelOutcome(id: $0, effect: .cancelRequested, status: .running) }
            }
        }
    }

    public func setLane(_ lane: String, paused: Bool) throws {
        try setLaneCommitted(lane, paused: paused)
        wake?.notify()
    }

    private func setLaneCommitted(_ lane: String, paused: Bool) throws {
        try write { db in
            if paused {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO paused_lanes (lane, paused_at) VALUES (?, ?)",
                    arguments: [lane, Timestamp.now.milliseconds])
            } else {
                try db.execute(sql: "DELETE FROM paused_lanes WHERE lane = ?", arguments: [lane])
            }
        }
    }

    public func retry(ids: [String], now: Timestamp) throws -> [RetryOutcome] {
        let result = try retryCommitted(ids: ids, now: now)
        try database.syncCommits()
        wake?.notify()
        return result
    }

    private func retryCommitted(ids: [String], now: Timestamp) throws -> [RetryOutcome] {
        try write { db in
            var counts = BatchCountChanges()
            let outcomes = try ids.map { id in
                // The status it leaves, for the batch counts (RETURNING sees only the new one).
                guard let current = try Row.fetchOne(db, sql: "SELECT status, batch_id, output FROM jobs WHERE id = ?", arguments: [id])
                else { return RetryOutcome(id: id, effect: .notFound, status: nil) }
                let status = JobStatus(rawValue: current[0])
                try db.execute(sql: """
                    UPDATE jobs SET status = 'queued', run_at = ?, output = NULL, error_type = NULL,
                        error_message = NULL, cancel_requested = 0, started_at = NULL, finished_at = NULL,
                        delivery_pending = 0, version = version + 1,
                        -- Attempts keep counting (the next one is numbered after the old ones),
                        -- and the job gets as many more as it was first given.
                        max_attempts = attempts + COALESCE(attempt_budget, max_attempts),
                        attempt_budget = COALESCE(attempt_budget, max_attempts)
                    WHERE id = ? AND status IN ('failed', 'cancelled')
                    """, arguments: [now.milliseconds, id])
                guard db.changesCount == 1 else { return RetryOutcome(id: id, effect: .notRetryable, status: status) }
                try outputChanged(batchID: current[1], from: current[2], to: nil, db: db)
                counts.move(batchID: current[1], from: status, to: .queued)
                return RetryOutcome(id: id, effect: .requeued, status: .queued)
            }
            try counts.write(db)
            return outcomes
        }
    }

    // MARK: - Reading

    public func job(id: String) throws -> Job? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM jobs WHERE id = ? AND status != 'staged'", arguments: [id])
                .map(Self.job(from:))
        }
    }

    public func jobs(ids: [String]) throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        return try read { db in
            var jobs: [Job] = []
            // In chunks: SQLite caps the number of bound parameters of one statement.
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = Array(ids[start..<min(start + 500, ids.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
                jobs += try Row.fetchAll(
                    db, sql: "SELECT \(Self.columns) FROM jobs WHERE id IN (\(marks)) AND status != 'staged'",
                    arguments: StatementArguments(chunk)
                ).map(Self.job(from:))
            }
            return jobs
        }
    }

    public func jobs(matching filter: JobFilter) throws -> [Job] {
        // Jobs of a batch still loading are not there yet for anyone.
        var conditions: [String] = ["status != 'staged'"]
        var arguments: StatementArguments = []
        // Few jobs are running, failed or cancelled: a list of them walks their small index
        // rather than the whole table newest first, which reads every row when none match.
        var table = "jobs"
        if let status = filter.status {
            // A literal (one of the enum's own names), not a parameter: SQLite picks a partial
            // index only when it can see the query's condition implies the index's.
            conditions.append("status = '\(status.rawValue)'")
            switch status {
            case .running: table = "jobs INDEXED BY jobs_running"
            // The index's own condition, word for word, so SQLite sees that it covers the query.
            case .failed, .cancelled: conditions.append("status IN ('failed', 'cancelled')")
            case .queued, .succeeded: break
            }
        }
        if let batchID = filter.batchID {
            conditions.append("batch_id = ?")
            _ = arguments.append(contentsOf: [batchID])
        }
        if let lane = filter.lane {
            conditions.append("lane = ?")
            _ = arguments.append(contentsOf: [lane])
        }
        if let afterSeq = filter.afterSeq {
            conditions.append(filter.newestFirst ? "seq < ?" : "seq > ?")
            _ = arguments.append(contentsOf: [afterSeq])
        }
        var sql = "SELECT \(Self.columns) FROM \(table) WHERE " + conditions.joined(separator: " AND ")
        sql += filter.newestFirst ? " ORDER BY seq DESC" : " ORDER BY seq"
        if let limit = filter.limit {
            sql += " LIMIT ?"
            _ = arguments.append(contentsOf: [limit])
        }
        let query = sql, queryArguments = arguments
        return try read { db in try Row.fetchAll(db, sql: query, arguments: queryArguments).map(Self.job(from:)) }
    }

    public func attempts(ofJob id: String) throws -> [AttemptRecord] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT e.attempt, e.error_type, e.error_message, e.at
                FROM job_attempt_errors AS e JOIN jobs ON jobs.seq = e.job_seq
                WHERE jobs.id = ? ORDER BY e.attempt, e.rowid
                """, arguments: [id]
            ).map {
                AttemptRecord(
                    attempt: $0[0], error: JobError(type: $0[1], message: $0[2]), at: Timestamp(milliseconds: $0[3]))
            }
        }
    }

    public func batch(id: String) throws -> Batch? {
        try read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT id, source, created_at FROM batches WHERE id = ? AND state != 'loading'", arguments: [id])
            else { return nil }
            return Batch(
                id: row[0], source: row[1], createdAt: Timestamp(milliseconds: row[2]),
                counts: try Self.counts(batchID: id, db: db))
        }
    }

    public func batches(limit: Int, after batchID: String?) throws -> [Batch] {
        try read { db in
            // The page after a batch: the rows below it in (created_at, id) order, the order listed.
            var cursor = ""
            var arguments: StatementArguments = []
            if let batchID {
                guard let createdAt = try Int64.fetchOne(db, sql: "SELECT created_at FROM batches WHERE id = ?", arguments: [batchID])
                else { return [] }
                cursor = "AND (created_at < ? OR (created_at = ? AND id < ?))"
                arguments = [createdAt, createdAt, batchID]
            }
            _ = arguments.append(contentsOf: [limit])
            return try Row.fetchAll(
                db, sql: """
                    SELECT id, source, created_at FROM batches WHERE state != 'loading' \(cursor)
                    ORDER BY created_at DESC, id DESC LIMIT ?
                    """,
                arguments: arguments
            ).map { row in
                Batch(
                    id: row[0], source: row[1], createdAt: Timestamp(milliseconds: row[2]),
                    counts: try Self.counts(batchID: row[0], db: db))
            }
        }
    }

    public func counts(batchID: String?) throws -> JobCounts {
        try read { db in try Self.counts(batchID: batchID, db: db) }
    }
}
