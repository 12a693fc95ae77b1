import Foundation
import PostgresNIO

/// The PostgreSQL driver of ``JobStore``: the queue of many hosts sharing one database.
///
/// Same behaviour, errors and ordering as ``SQLiteJobStore``. Claims lock the rows they take
/// with `FOR UPDATE SKIP LOCKED` (as River, Oban and graphile-worker do), so concurrent
/// claimers on any host never wait for each other nor take one job twice; a unique index on
/// the running job of each lane makes "one job of a lane at a time" a hard guarantee even
/// between transactions that cannot see each other. Every time stored or compared is on the
/// database's clock (``PGDatabase/databaseTime(for:)``), so hosts with skewed clocks neither
/// expire each other's live leases nor keep dead ones alive.
///
/// ```swift
/// let database = try PGDatabase(location: try PostgresLocation(url: url), migrations: PostgresJobStore.migrations)
/// let store = PostgresJobStore(database: database, wake: PostgresWakeSignal(database: database))
/// ```
public final class PostgresJobStore: JobStore {
    public let database: PGDatabase
    /// Nudged inside each transaction that makes jobs claimable or asks for a cancel (a
    /// ``PostgresWakeSignal`` is delivered at its commit; any other kind right after it).
    public let wake: (any WakeSignal)?
    /// This host's ID (``WorkerOptions/hostID``): the jobs it finishes are delivered by it, to
    /// its own home's result files. nil: a store that delivers every finished job (one host).
    public let hostID: String?

    /// How long a job finished on one host waits for that host to deliver it before any host
    /// may: the finishing host is then taken for dead.
    public static let foreignDeliveryGraceMilliseconds: Int64 = 60_000

    public init(database: PGDatabase, wake: (any WakeSignal)? = nil, hostID: String? = nil) {
        self.database = database
        self.wake = wake
        self.hostID = hostID
    }

    /// Result files are written after the commit, each by the host that finished the job: a
    /// host killed after writing a file for an attempt that never committed would otherwise
    /// keep a stale file while another host runs the job again (see ``JobStore/deliversAfterCommit``).
    public var deliversAfterCommit: Bool { true }

    /// The engine's schema, in order.
    public static let migrations: [PGMigration] = [
        PGMigration("jobs-1-tables", """
            CREATE TABLE jobs (
                seq bigserial PRIMARY KEY,
                id text NOT NULL UNIQUE,
                custom_id text,
                batch_id text,
                lane text,
                handler text NOT NULL,
                input text NOT NULL,
                metadata text,
                priority bigint NOT NULL DEFAULT 0,
                run_at bigint NOT NULL,
                max_attempts bigint NOT NULL,
                attempts bigint NOT NULL DEFAULT 0,
                status text NOT NULL,
                cancel_requested boolean NOT NULL DEFAULT false,
                output text,
                error_type text,
                error_message text,
                created_at bigint NOT NULL,
                started_at bigint,
                finished_at bigint,
                worker_id text,
                lease_until bigint,
                delivery_pending boolean NOT NULL DEFAULT false,
                -- Bumped by every change of state: a delivery mark clears only the state it wrote.
                version bigint NOT NULL DEFAULT 0,
                options text,
                -- The attempts a job gets each time it is (re)queued by hand; NULL: max_attempts.
                attempt_budget bigint,
                -- Only workers of this host may claim it (a session's workspace lives there).
                host text
            );
            -- A queue table churns: every job is inserted, updated a few times and deleted. Vacuumed
            -- and analyzed after 2% of its rows changed (not the default 20%), so the claim's
            -- index keeps few dead entries and the planner keeps walking it in claim order.
            ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);
            -- The claim walks this index in claim order and never sees finished rows.
            CREATE INDEX jobs_claimable ON jobs (priority DESC, seq) WHERE status = 'queued';
            -- Lane ordering: is an earlier job of this lane still open?
            CREATE INDEX jobs_lane_open ON jobs (lane, seq) WHERE status IN ('queued', 'running') AND lane IS NOT NULL;
            -- The hard guarantee: never two running jobs in one lane, whatever two claims saw.
            CREATE UNIQUE INDEX jobs_lane_running ON jobs (lane) WHERE status = 'running' AND lane IS NOT NULL;
            CREATE INDEX jobs_running ON jobs (worker_id) WHERE status = 'running';
            CREATE INDEX jobs_leases ON jobs (lease_until) WHERE status = 'running';
            CREATE INDEX jobs_undelivered ON jobs (seq) WHERE delivery_pending;
            CREATE INDEX jobs_batch ON jobs (batch_id, status);
            CREATE INDEX jobs_unsuccessful ON jobs (status, seq) WHERE status IN ('failed', 'cancelled');
            CREATE TABLE batches (
                id text PRIMARY KEY,
                source text,
                created_at bigint NOT NULL
            );
            CREATE INDEX batches_listed ON batches (created_at DESC, id DESC);
            CREATE TABLE job_attempt_errors (
                position bigserial PRIMARY KEY,
                job_seq bigint NOT NULL,
                attempt bigint NOT NULL,
                error_type text NOT NULL,
                error_message text NOT NULL,
                at bigint NOT NULL
            );
            CREATE INDEX job_attempt_errors_job ON job_attempt_errors (job_seq, attempt);
            -- Jobs of a paused lane stay queued and are not claimed until it is resumed.
            CREATE TABLE paused_lanes (
                lane text PRIMARY KEY,
                paused_at bigint NOT NULL
            );
            -- One row per prune transaction: the lowest and highest ID it removed, so `jobs get`
            -- can say "pruned" rather than "not found" (job IDs are time-sortable).
            CREATE TABLE pruned_job_ranges (
                first_id text NOT NULL,
                last_id text NOT NULL,
                jobs bigint NOT NULL,
                pruned_at bigint NOT NULL
            );
            CREATE INDEX pruned_job_ranges_first ON pruned_job_ranges (first_id);
            """),
        // The host that finished a job delivers it (``undeliveredJobs(limit:)``).
        PGMigration("jobs-2-finished-on", "ALTER TABLE jobs ADD COLUMN finished_on text"),
    ]

    static let columnNames = [
        "seq", "id", "custom_id", "batch_id", "lane", "handler", "input", "metadata", "priority", "run_at",
        "max_attempts", "attempts", "status", "cancel_requested", "output", "error_type", "error_message",
        "created_at", "started_at", "finished_at", "worker_id", "options", "version", "host",
    ]

    /// The columns ``job(from:)`` reads, in its order; qualified by `table` when given.
    static func columns(_ table: String? = nil) -> String {
        columnNames.map { name in table.map { "\($0).\(name)" } ?? name }.joined(separator: ", ")
    }

    static func job(from row: PostgresRow) throws -> Job {
        let r = row.makeRandomAccess()
        let errorType = try r[15].decode(String?.self)
        return Job(
            seq: try r[0].decode(Int64.self), id: try r[1].decode(String.self), customID: try r[2].decode(String?.self),
            batchID: try r[3].decode(String?.self), lane: try r[4].decode(String?.self),
            handler: try r[5].decode(String.self), input: try r[6].decode(String.self),
            metadata: try r[7].decode(String?.self), priority: try r[8].decode(Int.self),
            runAt: Timestamp(milliseconds: try r[9].decode(Int64.self)), maxAttempts: try r[10].decode(Int.self),
            attempts: try r[11].decode(Int.self), status: JobStatus(rawValue: try r[12].decode(String.self)) ?? .failed,
            cancelRequested: try r[13].decode(Bool.self), output: try r[14].decode(String?.self),
            error: try errorType.map { JobError(type: $0, message: try r[16].decode(String?.self) ?? "") },
            createdAt: Timestamp(milliseconds: try r[17].decode(Int64.self)),
            startedAt: try r[18].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            finishedAt: try r[19].decode(Int64?.self).map(Timestamp.init(milliseconds:)),
            workerID: try r[20].decode(String?.self), options: try r[21].decode(String?.self),
            version: try r[22].decode(Int64.self), host: try r[23].decode(String?.self))
    }

    /// Decodes rows, turning a decoding failure into a ``StoreError``.
    static func jobs(from rows: [PostgresRow]) throws -> [Job] {
        do { return try rows.map(job(from:)) } catch let error as StoreError { throw error } catch {
            throw StoreError(.database, "a jobs row could not be read: \(error)")
        }
    }

    /// `time` (the caller's host clock) on the database's clock, as stored.
    func db(_ time: Timestamp) -> Int64 { database.databaseTime(for: time).milliseconds }

    /// Nudges waiting workers when `connection`'s transaction commits.
    func nudge(on connection: PGConnection) {
        (wake as? PostgresWakeSignal)?.notify(on: connection)
    }

    /// Nudges through a wake signal of another kind, after the commit.
    func nudgeAfterCommit() {
        if let wake, !(wake is PostgresWakeSignal) { wake.notify() }
    }

    // MARK: - Enqueue

    /// One transaction, whatever the batch's size: PostgreSQL's MVCC lets other hosts claim,
    /// heartbeat and commit while it runs (a writer blocks no other writer of other rows), so
    /// the staged loading phase SQLite needs is not needed, and a failed submission leaves
    /// nothing at all. Rows go in chunks of ``PostgresJobInserter/rowsPerStatement``.
    public func enqueue(batch: NewBatch?, _ body: (any JobInserter) throws -> Void) throws -> EnqueueSummary {
        let summary = try database.write(retrying: false) { conn -> EnqueueSummary in
            let now = db(.now)
            if let batch {
                try conn.execute("INSERT INTO batches (id, source, created_at) VALUES (\(batch.id), \(batch.source), \(now))")
            }
            let inserter = PostgresJobInserter(connection: conn, batchID: batch?.id, now: now, database: database)
            try body(inserter)
            try inserter.flush()
            if inserter.count > 0 { nudge(on: conn) }
            return EnqueueSummary(batchID: batch?.id, count: inserter.count)
        }
        nudgeAfterCommit()
        return summary
    }

    /// Inserts a small batch in one transaction together with the caller's own writes, so both
    /// commit or neither does (what ``SQLiteJobStore/enqueue(batch:jobs:alongWith:)`` does).
    ///
    /// `alongWith` runs first, inside the transaction; it returns whether the batch should be
    /// inserted. Its own writes commit either way, and roll back with the batch if anything
    /// throws. It may run more than once (the transaction is retried on a serialization
    /// failure or deadlock), so it must only write through `connection`.
    ///
    /// ```swift
    /// let summary = try store.enqueue(batch: NewBatch(source: "schedule:nightly"), jobs: jobs) { conn in
    ///     try conn.execute("UPDATE schedules SET next_run_at = \(next) WHERE name = \(name) AND next_run_at = \(due)") == 1
    /// }
    /// ```
    /// - returns: the batch and its job count, or nil when `alongWith` declined.
    /// - throws: what `alongWith` throws, or a ``StoreError``.
    public func enqueue(batch: NewBatch, jobs: [NewJob], alongWith body: (PGConnection) throws -> Bool) throws
        -> EnqueueSummary?
    {
        let summary = try database.write { conn -> EnqueueSummary? in
            guard try body(conn) else { return nil }
            let now = db(.now)
            try conn.execute("INSERT INTO batches (id, source, created_at) VALUES (\(batch.id), \(batch.source), \(now))")
            try PostgresJobInserter.write(
                jobs.map { (id: SortableID.make(prefix: "job_"), job: $0) }, batchID: batch.id, now: now,
                database: database, connection: conn)
            if !jobs.isEmpty { nudge(on: conn) }
            return EnqueueSummary(batchID: batch.id, count: jobs.count)
        }
        if summary != nil { nudgeAfterCommit() }
        return summary
    }

    /// Nothing to clean up: an enqueue is one transaction, which PostgreSQL rolls back entirely
    /// when its process dies half-way, so no submission is ever left half-written.
    /// - returns: 0.
    public func cleanUpAbandonedSubmissions(now: Timestamp) throws -> Int { 0 }

    // MARK: - Workers

    public func exchange(_ request: ExchangeRequest) throws -> ExchangeResult {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try database.write { conn in try exchange(request, conn: conn) }
            } catch let error as StoreError where attempt < 5 && error.message.contains("jobs_lane_running") {
                // Two claims that could not see each other each started a job of one lane; the
                // unique index refused the second, which rolled back whole. Run it again: it
                // now sees the running job and leaves the lane alone.
                continue
            }
        }
    }

    private func exchange(_ request: ExchangeRequest, conn: PGConnection) throws -> ExchangeResult {
        let now = db(request.now)
        var finished: [Job] = []
        var refused: Set<Int64> = []
        var ended: [(outcome: JobOutcome, job: Job)] = []
        var retried: [(outcome: JobOutcome, error: JobError, at: Timestamp, output: String?)] = []
        var requeued: [JobOutcome] = []
        for outcome in request.outcomes {
            if var job = outcome.finishedJob {
                job.finishedAt = Timestamp(milliseconds: db(outcome.finishedAt))
                ended.append((outcome, job))
            } else if case .retry(let error, let at, let output) = outcome.resolution {
                retried.append((outcome, error, at, output))
            } else {
                requeued.append(outcome)
            }
        }
        if !ended.isEmpty {
            let applied = Set(try conn.query("""
                WITH o AS (
                    SELECT * FROM unnest(\(ended.map(\.job.seq))::bigint[], \(ended.map(\.job.status.rawValue))::text[],
                                         \(PGTextArray(ended.map(\.job.output)).literal)::text[],
                                         \(PGTextArray(ended.map(\.job.error?.type)).literal)::text[],
                                         \(PGTextArray(ended.map(\.job.error?.message)).literal)::text[],
                                         \(ended.map { $0.job.finishedAt?.milliseconds ?? now })::bigint[],
                                         \(ended.map { !$0.outcome.delivered })::boolean[])
                        AS o(seq, status, output, error_type, error_message, finished_at, pending)),
                u AS (
                    UPDATE jobs SET status = o.status, output = o.output, error_type = o.error_type,
                        error_message = o.error_message, finished_at = o.finished_at, worker_id = NULL,
                        lease_until = NULL, delivery_pending = o.pending, version = jobs.version + 1,
                        finished_on = \(hostID)
                    FROM o WHERE jobs.seq = o.seq AND jobs.status = 'running' AND jobs.worker_id = \(request.workerID)
                    RETURNING jobs.seq, jobs.attempts, o.error_type, o.error_message),
                e AS (
                    INSERT INTO job_attempt_errors (job_seq, attempt, error_type, error_message, at)
                    SELECT seq, attempts, error_type, COALESCE(error_message, ''), \(now) FROM u WHERE error_type IS NOT NULL)
                SELECT seq FROM u
                """).map { try $0.decode(Int64.self) })
            for (outcome, job) in ended {
                if applied.contains(job.seq) {
                    if !outcome.delivered { finished.append(job) }
                } else {
                    refused.insert(job.seq)
                }
            }
        }
        if !retried.isEmpty {
            // A cancel that arrived while the attempt was failing wins over the retry.
            let rows = try conn.query("""
                WITH o AS (
                    SELECT * FROM unnest(\(retried.map(\.outcome.job.seq))::bigint[],
                                         \(retried.map { db($0.at) })::bigint[],
                                         \(PGTextArray(retried.map(\.output)).literal)::text[],
                                         \(retried.map(\.error.type))::text[], \(retried.map(\.error.message))::text[])
                        AS o(seq, run_at, output, error_type, error_message)),
                u AS (
                    UPDATE jobs SET
                        status = CASE WHEN jobs.cancel_requested THEN 'cancelled' ELSE 'queued' END,
                        run_at = o.run_at, output = o.output, error_type = o.error_type, error_message = o.error_message,
                        finished_at = CASE WHEN jobs.cancel_requested THEN \(now) END,
                        delivery_pending = jobs.cancel_requested, finished_on = \(hostID), worker_id = NULL, lease_until = NULL,
                        version = jobs.version + 1
                    FROM o WHERE jobs.seq = o.seq AND jobs.status = 'running' AND jobs.worker_id = \(request.workerID)
                    RETURNING \(unescaped: Self.columns("jobs"))),
                e AS (
                    INSERT INTO job_attempt_errors (job_seq, attempt, error_type, error_message, at)
                    SELECT seq, attempts, error_type, error_message, \(now) FROM u)
                SELECT * FROM u
                """)
            try record(rows, of: retried.map(\.outcome), finished: &finished, refused: &refused)
        }
        if !requeued.isEmpty {
            let rows = try conn.query("""
                UPDATE jobs SET
                    status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
                    attempts = CASE WHEN cancel_requested THEN attempts ELSE attempts - 1 END,
                    error_type = CASE WHEN cancel_requested THEN 'cancelled' ELSE error_type END,
                    error_message = CASE WHEN cancel_requested THEN 'cancelled while its worker shut down'
                                         ELSE error_message END,
                    finished_at = CASE WHEN cancel_requested THEN \(now) END,
                    delivery_pending = cancel_requested, finished_on = \(hostID), run_at = \(now), worker_id = NULL, lease_until = NULL,
                    version = version + 1
                WHERE seq = ANY(\(requeued.map(\.job.seq))) AND status = 'running' AND worker_id = \(request.workerID)
                RETURNING \(unescaped: Self.columns())
                """)
            try record(rows, of: requeued, finished: &finished, refused: &refused)
        }
        let redeliver = request.outcomes.filter { $0.delivered && refused.contains($0.job.seq) }.map(\.job.seq)
        if !redeliver.isEmpty {
            // This worker already told the sink an end state that did not commit: the
            // committed one must replace it.
            finished += try Self.jobs(from: conn.query("""
                UPDATE jobs SET delivery_pending = true, finished_on = \(hostID)
                WHERE seq = ANY(\(redeliver)) AND status IN ('succeeded', 'failed', 'cancelled')
                RETURNING \(unescaped: Self.columns())
                """))
        }
        if !request.delivered.isEmpty {
            // Only the state that was delivered: a newer one (retried and finished again) stays pending.
            try conn.execute("""
                UPDATE jobs SET delivery_pending = false
                FROM unnest(\(request.delivered.map(\.seq))::bigint[], \(request.delivered.map(\.version))::bigint[])
                    AS d(seq, version)
                WHERE jobs.seq = d.seq AND jobs.version = d.version
                """)
        }
        var claimed: [Job] = []
        if request.claimLimit > 0 {
            claimed = try claim(request, now: now, conn: conn)
        }
        return ExchangeResult(finished: finished, claimed: claimed, refused: refused)
    }

    /// Sorts the rows a retry or requeue returned into finished (ended by a cancel) and refused.
    private func record(
        _ rows: [PostgresRow], of outcomes: [JobOutcome], finished: inout [Job], refused: inout Set<Int64>
    ) throws {
        let jobs = try Self.jobs(from: rows)
        let applied = Set(jobs.map(\.seq))
        finished += jobs.filter(\.status.isFinished)
        for outcome in outcomes where !applied.contains(outcome.job.seq) { refused.insert(outcome.job.seq) }
    }

    /// Claims up to `claimLimit` jobs with one statement: the candidates are locked with
    /// `FOR UPDATE SKIP LOCKED` (rows another claim holds are passed over, not waited for) and
    /// updated in the same statement.
    ///
    /// A lane's job is a candidate only when it is the lane's oldest open job and no job of its
    /// lane runs; a row locked by another claim is skipped, and the lane's later jobs then still
    /// see it open, so they are not taken either.
    private func claim(_ request: ExchangeRequest, now: Int64, conn: PGConnection) throws -> [Job] {
        let leaseUntil = now + request.leaseMilliseconds
        let rows = try conn.query("""
            WITH picked AS (
                SELECT seq FROM jobs AS j
                WHERE status = 'queued' AND run_at <= \(now)
                  AND (\(request.claimScope.batchID)::text IS NULL OR batch_id = \(request.claimScope.batchID)::text)
                  AND (\(request.claimScope.lane)::text IS NULL OR lane = \(request.claimScope.lane)::text)
                  AND (host IS NULL OR host = \(request.hostID)::text)
                  AND (lane IS NULL OR (
                        NOT EXISTS (SELECT 1 FROM paused_lanes AS p WHERE p.lane = j.lane)
                        AND NOT EXISTS (
                            SELECT 1 FROM jobs AS other
                            WHERE other.lane = j.lane AND other.status IN ('queued', 'running')
                              AND (other.seq < j.seq OR other.status = 'running'))))
                ORDER BY priority DESC, seq
                LIMIT \(request.claimLimit)
                FOR UPDATE SKIP LOCKED)
            UPDATE jobs SET status = 'running', worker_id = \(request.workerID), lease_until = \(leaseUntil),
                attempts = attempts + 1, started_at = \(now), version = version + 1
            FROM picked WHERE jobs.seq = picked.seq
            RETURNING \(unescaped: Self.columns("jobs"))
            """)
        return try Self.jobs(from: rows).sorted { ($0.priority, -$0.seq) > ($1.priority, -$1.seq) }
    }

    public func heartbeat(workerID: String, leaseUntil: Timestamp) throws -> [LeaseState] {
        // The worker's lease end is a time on its own host's clock.
        let until = db(leaseUntil)
        return try database.write { conn in
            try conn.query("""
                UPDATE jobs SET lease_until = \(until) WHERE worker_id = \(workerID) AND status = 'running'
                RETURNING seq, cancel_requested
                """).map { row in
                let (seq, cancel) = try row.decode((Int64, Bool).self)
                return LeaseState(seq: seq, cancelRequested: cancel)
            }
        }
    }

    public func rescueExpiredLeases(now: Timestamp) throws -> Int {
        // Compared on the database's clock: a host whose clock runs behind or ahead rescues
        // exactly the leases that expired.
        let now = db(now)
        let message = "its worker stopped renewing the lease (the process died or hung)"
        return try database.write { conn in
            try conn.scalar("""
                WITH u AS (
                    UPDATE jobs SET
                        status = CASE WHEN cancel_requested THEN 'cancelled'
                                      WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,
                        error_type = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'lease_expired' END,
                        error_message = CASE WHEN cancel_requested THEN 'cancelled; ' || \(message)::text
                                             ELSE \(message)::text END,
                        finished_at = CASE WHEN cancel_requested OR attempts >= max_attempts THEN \(now) END,
                        delivery_pending = cancel_requested OR attempts >= max_attempts, finished_on = \(hostID),
                        run_at = \(now), worker_id = NULL, lease_until = NULL, version = version + 1
                    WHERE status = 'running' AND lease_until < \(now)
                    RETURNING seq, attempts, error_type, error_message),
                e AS (
                    INSERT INTO job_attempt_errors (job_seq, attempt, error_type, error_message, at)
                    SELECT seq, attempts, error_type, error_message, \(now) FROM u)
                SELECT count(*) FROM u
                """, as: Int.self) ?? 0
        }
    }

    /// The finished jobs this host is to deliver: those it finished, those no host claims, and
    /// those another host finished more than ``foreignDeliveryGraceMilliseconds`` ago (it died
    /// before writing their files). A store without a host ID delivers them all.
    public func undeliveredJobs(limit: Int) throws -> [Job] {
        let abandonedBefore = db(.now) - Self.foreignDeliveryGraceMilliseconds
        return try database.read { conn in
            try Self.jobs(from: conn.query("""
                SELECT \(unescaped: Self.columns()) FROM jobs
                WHERE delivery_pending AND (\(hostID)::text IS NULL OR finished_on IS NULL OR finished_on = \(hostID)
                                            OR coalesce(finished_at, 0) < \(abandonedBefore))
                ORDER BY seq LIMIT \(limit)
                """))
        }
    }

    public func markDelivered(_ jobs: [Job]) throws {
        guard !jobs.isEmpty else { return }
        _ = try exchange(ExchangeRequest(workerID: "", now: .now, delivered: jobs))
    }

    public func hasUnfinishedJobs(in scope: ClaimScope) throws -> Bool {
        try database.read { conn in
            switch scope {
            case .all:
                // Jobs waiting in a paused lane wait for a person, not for a worker.
                return try conn.scalar("""
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 'queued'
                                   AND (lane IS NULL OR lane NOT IN (SELECT lane FROM paused_lanes)))
                        OR EXISTS (SELECT 1 FROM jobs WHERE status = 'running')
                    """, as: Bool.self) ?? false
            case .batch(let id):
                return try conn.scalar("""
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE batch_id = \(id) AND status IN ('queued', 'running'))
                    """, as: Bool.self) ?? false
            case .lane(let key):
                return try conn.scalar("""
                    SELECT EXISTS (SELECT 1 FROM jobs WHERE lane = \(key) AND status = 'running')
                        OR (EXISTS (SELECT 1 FROM jobs WHERE lane = \(key) AND status = 'queued')
                            AND NOT EXISTS (SELECT 1 FROM paused_lanes WHERE lane = \(key)))
                    """, as: Bool.self) ?? false
            }
        }
    }

    // MARK: - Control

    public func cancel(_ selector: JobSelector, now: Timestamp) throws -> [CancelOutcome] {
        let now = db(now)
        let outcomes = try database.write { conn -> [CancelOutcome] in
            let outcomes = try cancel(selector, now: now, conn: conn)
            if !outcomes.isEmpty { nudge(on: conn) }
            return outcomes
        }
        nudgeAfterCommit()
        return outcomes
    }

    private func cancel(_ selector: JobSelector, now: Int64, conn: PGConnection) throws -> [CancelOutcome] {
        switch selector {
        case .ids(let ids):
            // Locked first, so no claim or outcome moves them between the reading and the update.
            var status: [String: String] = [:]
            var queued: [Int64] = [], running: [Int64] = []
            for row in try conn.query("SELECT seq, id, status FROM jobs WHERE id = ANY(\(ids)) FOR UPDATE") {
                let (seq, id, state) = try row.decode((Int64, String, String).self)
                status[id] = state
                if state == "queued" { queued.append(seq) } else if state == "running" { running.append(seq) }
            }
            if !queued.isEmpty {
                try conn.execute("""
                    UPDATE jobs SET status = 'cancelled', finished_at = \(now), error_type = 'cancelled',
                        error_message = 'cancelled while queued', delivery_pending = true, version = version + 1,
                        finished_on = \(hostID)
                    WHERE seq = ANY(\(queued))
                    """)
            }
            if !running.isEmpty {
                try conn.execute("UPDATE jobs SET cancel_requested = true WHERE seq = ANY(\(running))")
            }
            return ids.map { id in
                switch status[id] {
                case nil: return CancelOutcome(id: id, effect: .notFound, status: nil)
                case "queued":
                    status[id] = "cancelled"   // the same ID again: already finished
                    return CancelOutcome(id: id, effect: .cancelled, status: .cancelled)
                case "running": return CancelOutcome(id: id, effect: .cancelRequested, status: .running)
                case let state?: return CancelOutcome(id: id, effect: .alreadyFinished, status: JobStatus(rawValue: state))
                }
            }
        case .batch(let value), .lane(let value):
            let column: String
            if case .batch = selector { column = "batch_id" } else { column = "lane" }
            // Queued first, then running: a job a claim takes meanwhile is asked to stop by the second.
            let cancelled = try conn.query("""
                UPDATE jobs SET status = 'cancelled', finished_at = \(now), error_type = 'cancelled',
                    error_message = 'cancelled while queued', delivery_pending = true, version = version + 1,
                        finished_on = \(hostID)
                WHERE \(unescaped: column) = \(value) AND status = 'queued' RETURNING id
                """).map { try $0.decode(String.self) }
            let requested = try conn.query("""
                UPDATE jobs SET cancel_requested = true WHERE \(unescaped: column) = \(value) AND status = 'running'
                RETURNING id
                """).map { try $0.decode(String.self) }
            return cancelled.map { CancelOutcome(id: $0, effect: .cancelled, status: .cancelled) }
                + requested.map { CancelOutcome(id: $0, effect: .cancelRequested, status: .running) }
        }
    }

    public func setLane(_ lane: String, paused: Bool) throws {
        let now = db(.now)
        try database.write { conn in
            if paused {
                try conn.execute("INSERT INTO paused_lanes (lane, paused_at) VALUES (\(lane), \(now)) ON CONFLICT DO NOTHING")
            } else if try conn.execute("DELETE FROM paused_lanes WHERE lane = \(lane)") > 0 {
                nudge(on: conn)
            }
        }
        nudgeAfterCommit()
    }

    public func retry(ids: [String], now: Timestamp) throws -> [RetryOutcome] {
        let now = db(now)
        let outcomes = try database.write { conn -> [RetryOutcome] in
            let requeued = Set(try conn.query("""
                UPDATE jobs SET status = 'queued', run_at = \(now), output = NULL, error_type = NULL,
                    error_message = NULL, cancel_requested = false, started_at = NULL, finished_at = NULL,
                    delivery_pending = false, version = version + 1,
                    -- Attempts keep counting (the next one is numbered after the old ones),
                    -- and the job gets as many more as it was first given.
                    max_attempts = attempts + COALESCE(attempt_budget, max_attempts),
                    attempt_budget = COALESCE(attempt_budget, max_attempts)
                WHERE id = ANY(\(ids)) AND status IN ('failed', 'cancelled')
                RETURNING id
                """).map { try $0.decode(String.self) })
            var status: [String: String] = [:]
            for row in try conn.query("SELECT id, status FROM jobs WHERE id = ANY(\(ids))") {
                let (id, state) = try row.decode((String, String).self)
                status[id] = state
            }
            if !requeued.isEmpty { nudge(on: conn) }
            var reported: Set<String> = []
            return ids.map { id in
                // The same ID twice: the second finds it queued, as SQLite's loop does.
                if requeued.contains(id), reported.insert(id).inserted {
                    return RetryOutcome(id: id, effect: .requeued, status: .queued)
                }
                guard let state = status[id] else { return RetryOutcome(id: id, effect: .notFound, status: nil) }
                return RetryOutcome(id: id, effect: .notRetryable, status: JobStatus(rawValue: state))
            }
        }
        nudgeAfterCommit()
        return outcomes
    }

    // MARK: - Reading

    public func job(id: String) throws -> Job? {
        try database.read { conn in
            try Self.jobs(from: conn.query("SELECT \(unescaped: Self.columns()) FROM jobs WHERE id = \(id)")).first
        }
    }

    public func jobs(ids: [String]) throws -> [Job] {
        guard !ids.isEmpty else { return [] }
        return try database.read { conn in
            try Self.jobs(from: conn.query("SELECT \(unescaped: Self.columns()) FROM jobs WHERE id = ANY(\(ids))"))
        }
    }

    public func jobs(matching filter: JobFilter) throws -> [Job] {
        let order = filter.newestFirst ? "DESC" : ""
        let after = filter.afterSeq
        return try database.read { conn in
            try Self.jobs(from: conn.query("""
                SELECT \(unescaped: Self.columns()) FROM jobs
                WHERE (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue)::text)
                  AND (\(filter.batchID)::text IS NULL OR batch_id = \(filter.batchID)::text)
                  AND (\(filter.lane)::text IS NULL OR lane = \(filter.lane)::text)
                  AND (\(after)::bigint IS NULL OR (CASE WHEN \(filter.newestFirst) THEN seq < \(after)::bigint
                                                         ELSE seq > \(after)::bigint END))
                ORDER BY seq \(unescaped: order)
                LIMIT \(filter.limit.map(Int64.init))::bigint
                """))
        }
    }

    public func attempts(ofJob id: String) throws -> [AttemptRecord] {
        try database.read { conn in
            try conn.query("""
                SELECT e.attempt, e.error_type, e.error_message, e.at
                FROM job_attempt_errors AS e JOIN jobs ON jobs.seq = e.job_seq
                WHERE jobs.id = \(id) ORDER BY e.attempt, e.position
                """).map { row in
                let (attempt, type, message, at) = try row.decode((Int, String, String, Int64).self)
                return AttemptRecord(attempt: attempt, error: JobError(type: type, message: message),
                                     at: Timestamp(milliseconds: at))
            }
        }
    }

    public func batch(id: String) throws -> Batch? {
        try database.read { conn in
            guard let row = try conn.query("SELECT id, source, created_at FROM batches WHERE id = \(id)").first
            else { return nil }
            let (id, source, createdAt) = try row.decode((String, String?, Int64).self)
            return Batch(id: id, source: source, createdAt: Timestamp(milliseconds: createdAt),
                         counts: try Self.counts(batchID: id, conn: conn))
        }
    }

    public func batches(limit: Int, after batchID: String?) throws -> [Batch] {
        try database.read { conn in
            // The page after a batch: the rows below it in (created_at, id) order, the order listed.
            var createdAt: Int64?
            if let batchID {
                guard let value = try conn.scalar("SELECT created_at FROM batches WHERE id = \(batchID)", as: Int64.self)
                else { return [] }
                createdAt = value
            }
            return try conn.query("""
                SELECT id, source, created_at FROM batches
                WHERE \(createdAt)::bigint IS NULL OR (created_at, id) < (\(createdAt)::bigint, \(batchID)::text)
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """).map { row in
                let (id, source, createdAt) = try row.decode((String, String?, Int64).self)
                return Batch(id: id, source: source, createdAt: Timestamp(milliseconds: createdAt),
                             counts: try Self.counts(batchID: id, conn: conn))
            }
        }
    }

    public func counts(batchID: String?) throws -> JobCounts {
        try database.read { conn in try Self.counts(batchID: batchID, conn: conn) }
    }

    /// Jobs per status, of one batch (over its `jobs_batch` index) or of the whole queue.
    static func counts(batchID: String?, conn: PGConnection) throws -> JobCounts {
        var counts = JobCounts()
        for row in try conn.query("""
            SELECT status, count(*) FROM jobs WHERE \(batchID)::text IS NULL OR batch_id = \(batchID)::text GROUP BY status
            """)
        {
            let (status, count) = try row.decode((String, Int).self)
            if let status = JobStatus(rawValue: status) { counts[status] = count }
        }
        return counts
    }
}
