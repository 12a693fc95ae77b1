import Foundation
import GRDB
import JobQueue

/// Schedules in the queue's database, firing through ``JobQueue/SQLiteJobStore/enqueue(batch:jobs:alongWith:)``
/// so a tick's batch and the move of its `next_run_at` are one commit.
///
/// ```swift
/// let schedules = SQLiteScheduleStore(database: database, jobs: SQLiteJobStore(database: database), agents: agents)
/// let fired = try schedules.fireDue(now: .now)
/// ```
public final class SQLiteScheduleStore: ScheduleStore {
    public let database: SQLiteDatabase
    let jobs: SQLiteJobStore
    let agents: any AgentStore
    /// The runs kept per schedule: an every-second schedule would otherwise add 86,400 a day.
    public let runsKept: Int

    public init(database: SQLiteDatabase, jobs: SQLiteJobStore, agents: any AgentStore, runsKept: Int = 1000) {
        self.database = database
        self.jobs = jobs
        self.agents = agents
        self.runsKept = runsKept
    }

    /// The most jobs one fire makes.
    public static let maximumJobsPerFire = ScheduleJobMaker.maximumJobsPerFire

    private var maker: ScheduleJobMaker { ScheduleJobMaker(jobs: jobs, agents: agents) }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-schedules-1", sql: """
            CREATE TABLE schedules (
                name TEXT PRIMARY KEY NOT NULL,
                spec_kind TEXT NOT NULL,
                spec TEXT NOT NULL,
                timezone TEXT NOT NULL,
                -- 'input': content is one job's input; 'file': a bulk file's content, named by source.
                prompts_kind TEXT NOT NULL,
                content TEXT NOT NULL,
                source TEXT,
                agent TEXT NOT NULL,
                session TEXT,
                priority INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL,
                overlap TEXT NOT NULL,
                paused INTEGER NOT NULL DEFAULT 0,
                next_run_at INTEGER NOT NULL,
                last_run_at INTEGER,
                last_batch_id TEXT,
                created_at INTEGER NOT NULL
            );
            CREATE INDEX schedules_due ON schedules (next_run_at) WHERE paused = 0;
            -- Every tick and what became of it. A tick can be recorded once: a second fire of
            -- the same tick would fail this index and roll back with its batch.
            CREATE TABLE schedule_runs (
                seq INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                tick_at INTEGER,
                batch_id TEXT,
                outcome TEXT NOT NULL,
                message TEXT,
                at INTEGER NOT NULL
            );
            CREATE UNIQUE INDEX schedule_runs_tick ON schedule_runs (name, tick_at) WHERE tick_at IS NOT NULL;
            CREATE INDEX schedule_runs_name ON schedule_runs (name, seq);
            """),
    ]

    static let columns = """
        name, spec_kind, spec, timezone, prompts_kind, content, source, agent, session, priority, max_attempts, \
        overlap, paused, next_run_at, last_run_at, last_batch_id, created_at
        """

    static func schedule(_ row: Row) throws -> Schedule {
        let kind: String = row[4]
        let content: String = row[5]
        let source: String? = row[6]
        let definition = NewSchedule(
            name: row[0], spec: try ScheduleSpec(kind: row[1], text: row[2]), timeZone: row[3],
            prompts: ScheduleJobMaker.prompts(kind: kind, content: content, source: source),
            agent: row[7], session: row[8], priority: row[9], maxAttempts: row[10],
            overlap: OverlapPolicy(rawValue: row[11]) ?? .skip)
        return Schedule(
            definition: definition, paused: row[12], nextRunAt: Timestamp(milliseconds: row[13]),
            lastRunAt: (row[14] as Int64?).map(Timestamp.init(milliseconds:)), lastBatchID: row[15],
            createdAt: Timestamp(milliseconds: row[16]))
    }

    // MARK: - Managing

    @discardableResult
    public func add(_ new: NewSchedule, replace: Bool, now: Timestamp) throws -> Schedule {
        let zone = try maker.check(new)
        let next = new.spec.nextTick(after: now, due: nil, in: zone)
        let (kind, content, source) = ScheduleJobMaker.stored(new.prompts)
        try database.write(retryTransient: true) { db, _ in
            let exists = try Bool.fetchOne(db, sql: "SELECT 1 FROM schedules WHERE name = ?", arguments: [new.name]) ?? false
            if exists && !replace {
                throw ScheduleJobMaker.alreadyExists(new.name)
            }
            // A replaced schedule keeps its history, its last batch (overlap still sees it) and
            // whether it is paused: replacing changes what it runs, not whether it runs.
            try db.execute(sql: """
                INSERT INTO schedules (name, spec_kind, spec, timezone, prompts_kind, content, source, agent, session, priority,
                                       max_attempts, overlap, paused, next_run_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                ON CONFLICT (name) DO UPDATE SET
                    spec_kind = excluded.spec_kind, spec = excluded.spec, timezone = excluded.timezone,
                    prompts_kind = excluded.prompts_kind, content = excluded.content, source = excluded.source,
                    agent = excluded.agent, session = excluded.session, priority = excluded.priority,
                    max_attempts = excluded.max_attempts, overlap = excluded.overlap,
                    next_run_at = excluded.next_run_at
                """,
                arguments: [
                    new.name, new.spec.kind, new.spec.text, zone.identifier, kind, content, source, new.agent, new.session,
                    new.priority, new.maxAttempts, new.overlap.rawValue, next.milliseconds, now.milliseconds,
                ])
        }
        return try schedule(named: new.name)!
    }

    public func schedule(named name: String) throws -> Schedule? {
        try database.read(retryTransient: true) { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM schedules WHERE name = ?", arguments: [name])
                .map(Self.schedule)
        }
    }

    public func schedules() throws -> [Schedule] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM schedules ORDER BY name").map(Self.schedule)
        }
    }

    public func runs(of name: String, limit: Int) throws -> [ScheduleRun] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT tick_at, batch_id, outcome, message, at FROM schedule_runs WHERE name = ? ORDER BY seq DESC LIMIT ?
                """, arguments: [name, limit]).map { row in
                ScheduleRun(
                    name: name, tickAt: (row[0] as Int64?).map(Timestamp.init(milliseconds:)), batchID: row[1],
                    outcome: ScheduleRun.Outcome(rawValue: row[2]) ?? .failed, message: row[3],
                    at: Timestamp(milliseconds: row[4]))
            }
        }
    }

    @discardableResult
    public func setPaused(_ name: String, _ paused: Bool, now: Timestamp) throws -> Schedule {
        guard let current = try schedule(named: name) else { throw notFound(name) }
        let zone = TimeZone(identifier: current.timeZone) ?? .current
        // Resuming starts from the next tick after now: what was missed while paused stays missed.
        let next = current.spec.nextTick(after: now, due: current.nextRunAt, in: zone)
        try database.write(retryTransient: true) { db, _ in
            if paused {
                // next_run_at stays: a worker firing right now may be moving it.
                try db.execute(sql: "UPDATE schedules SET paused = 1 WHERE name = ?", arguments: [name])
            } else {
                try db.execute(
                    sql: "UPDATE schedules SET paused = 0, next_run_at = ? WHERE name = ? AND paused = 1",
                    arguments: [next.milliseconds, name])
            }
        }
        guard let updated = try schedule(named: name) else { throw notFound(name) }
        return updated
    }

    public func remove(_ name: String) throws {
        let removed = try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "DELETE FROM schedules WHERE name = ?", arguments: [name])
            let removed = db.changesCount
            try db.execute(sql: "DELETE FROM schedule_runs WHERE name = ?", arguments: [name])
            return removed
        }
        if removed == 0 { throw notFound(name) }
    }

    private func notFound(_ name: String) -> AgentQError { ScheduleJobMaker.notFound(name) }

    // MARK: - Firing

    public func fireDue(now: Timestamp) throws -> [ScheduleRun] {
        let due = try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM schedules WHERE paused = 0 AND next_run_at <= ? ORDER BY next_run_at, name
                """, arguments: [now.milliseconds]).map(Self.schedule)
        }
        var runs: [ScheduleRun] = []
        for schedule in due {
            if let run = try fire(schedule, now: now) { runs.append(run) }
        }
        return runs
    }

    /// Fires one due tick, unless another process moved `next_run_at` first.
    private func fire(_ schedule: Schedule, now: Timestamp) throws -> ScheduleRun? {
        let tick = schedule.nextRunAt
        let next = schedule.spec.nextTick(after: now, due: tick, in: TimeZone(identifier: schedule.timeZone) ?? .current)
        let batch = NewBatch(source: schedule.batchSource)
        let (jobs, failure) = try maker.jobsOrFailure(for: schedule)
        var run: ScheduleRun?
        _ = try self.jobs.enqueue(batch: batch, jobs: jobs) { db in
            // The compare-and-set: only the process that still sees this tick due moves it.
            try db.execute(
                sql: "UPDATE schedules SET next_run_at = ? WHERE name = ? AND next_run_at = ? AND paused = 0",
                arguments: [next.milliseconds, schedule.name, tick.milliseconds])
            guard db.changesCount == 1 else { return false }
            let (outcome, message) = try ScheduleJobMaker.outcome(failure: failure, overlap: schedule.overlap) {
                guard let previous = try lastBatch(schedule.name, db), try unfinished(previous, db) else { return nil }
                return previous
            }
            run = try record(ScheduleRun(
                name: schedule.name, tickAt: tick, batchID: outcome == .fired ? batch.id : nil, outcome: outcome,
                message: message, at: now), db)
            return outcome == .fired
        }
        return run
    }

    public func runNow(_ name: String, now: Timestamp) throws -> ScheduleRun {
        guard let schedule = try schedule(named: name) else { throw notFound(name) }
        let jobs = try maker.makeJobs(schedule)
        let batch = NewBatch(source: schedule.batchSource)
        var run: ScheduleRun?
        _ = try self.jobs.enqueue(batch: batch, jobs: jobs) { db in
            run = try record(ScheduleRun(name: name, tickAt: nil, batchID: batch.id, outcome: .manual, message: nil, at: now), db)
            return true
        }
        return run!
    }

    /// Writes a run (dropping the oldest beyond ``runsKept``), and the schedule's last fire when it fired.
    private func record(_ run: ScheduleRun, _ db: Database) throws -> ScheduleRun {
        try db.execute(
            sql: "INSERT INTO schedule_runs (name, tick_at, batch_id, outcome, message, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [run.name, run.tickAt?.milliseconds, run.batchID, run.outcome.rawValue, run.message, run.at.milliseconds])
        try db.execute(sql: """
            DELETE FROM schedule_runs WHERE name = ?1 AND seq <= (
                SELECT seq FROM schedule_runs WHERE name = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)
            """, arguments: [run.name, runsKept])
        if let batchID = run.batchID {
            try db.execute(
                sql: "UPDATE schedules SET last_run_at = ?, last_batch_id = ? WHERE name = ?",
                arguments: [run.at.milliseconds, batchID, run.name])
        }
        return run
    }

    private func lastBatch(_ name: String, _ db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT last_batch_id FROM schedules WHERE name = ?", arguments: [name])
    }

    /// Whether a batch has jobs that have not ended (read in the firing transaction).
    private func unfinished(_ batchID: String, _ db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: """
            SELECT EXISTS (SELECT 1 FROM jobs WHERE batch_id = ? AND status IN ('staged', 'queued', 'running'))
            """, arguments: [batchID]) ?? false
    }
}
