import Foundation
import JobQueue
import PostgresNIO

/// Schedules in a PostgreSQL database many hosts share: the twin of ``SQLiteScheduleStore``,
/// firing through ``JobQueue/PostgresJobStore/enqueue(batch:jobs:alongWith:)`` so a tick's batch
/// and the move of its `next_run_at` are one commit.
///
/// Exactly-once across hosts rests on the database, not on timing: the UPDATE that moves
/// `next_run_at` only matches while it is still the tick that was read (a second host blocks on
/// the row, then finds it moved, and writes nothing), and `schedule_runs` takes each (name, tick)
/// once. Times follow the database's clock, to the second (see ``now(_:)``).
///
/// ```swift
/// let database = try PGDatabase(location: location, migrations: PostgresJobStore.migrations + PostgresScheduleStore.migrations)
/// let schedules = PostgresScheduleStore(database: database, jobs: PostgresJobStore(database: database), agents: agents)
/// let fired = try schedules.fireDue(now: .now)
/// ```
public final class PostgresScheduleStore: ScheduleStore {
    public let database: PGDatabase
    let jobs: PostgresJobStore
    let agents: any AgentStore
    /// The runs kept per schedule: an every-second schedule would otherwise add 86,400 a day.
    public let runsKept: Int

    public init(database: PGDatabase, jobs: PostgresJobStore, agents: any AgentStore, runsKept: Int = 1000) {
        self.database = database
        self.jobs = jobs
        self.agents = agents
        self.runsKept = runsKept
    }

    /// The most jobs one fire makes.
    public static let maximumJobsPerFire = ScheduleJobMaker.maximumJobsPerFire

    private var maker: ScheduleJobMaker { ScheduleJobMaker(jobs: jobs, agents: agents) }

    /// Names compare byte by byte (`COLLATE "C"`), so `schedules list` is in SQLite's order
    /// whatever the server's locale.
    public static let migrations: [PGMigration] = [
        PGMigration("schedules-1", """
            CREATE TABLE schedules (
                name text COLLATE "C" PRIMARY KEY,
                spec_kind text NOT NULL,
                spec text NOT NULL,
                timezone text NOT NULL,
                -- 'input': content is one job's input; 'file': a bulk file's content, named by source.
                prompts_kind text NOT NULL,
                content text NOT NULL,
                source text,
                agent text NOT NULL,
                session text,
                priority bigint NOT NULL,
                max_attempts bigint NOT NULL,
                overlap text NOT NULL,
                paused boolean NOT NULL DEFAULT false,
                next_run_at bigint NOT NULL,
                last_run_at bigint,
                last_batch_id text,
                created_at bigint NOT NULL
            );
            CREATE INDEX schedules_due ON schedules (next_run_at) WHERE NOT paused;
            -- Every tick and what became of it. A tick can be recorded once: a second fire of
            -- the same tick would fail this index and roll back with its batch.
            CREATE TABLE schedule_runs (
                seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                name text NOT NULL,
                tick_at bigint,
                batch_id text,
                outcome text NOT NULL,
                message text,
                at bigint NOT NULL
            );
            CREATE UNIQUE INDEX schedule_runs_tick ON schedule_runs (name, tick_at) WHERE tick_at IS NOT NULL;
            CREATE INDEX schedule_runs_name ON schedule_runs (name, seq);
            """),
    ]

    static let columns = """
        name, spec_kind, spec, timezone, prompts_kind, content, source, agent, session, priority, max_attempts, \
        overlap, paused, next_run_at, last_run_at, last_batch_id, created_at
        """

    static func schedule(_ row: PostgresRow) throws -> Schedule {
        let (name, specKind, spec, timeZone, kind, content, source, agent, session, priority, maxAttempts, overlap, paused,
             nextRunAt, lastRunAt, lastBatchID, createdAt) = try row.decode(
            (String, String, String, String, String, String, String?, String, String?, Int, Int, String, Bool,
             Int64, Int64?, String?, Int64).self)
        let definition = NewSchedule(
            name: name, spec: try ScheduleSpec(kind: specKind, text: spec), timeZone: timeZone,
            prompts: ScheduleJobMaker.prompts(kind: kind, content: content, source: source),
            agent: agent, session: session, priority: priority, maxAttempts: maxAttempts,
            overlap: OverlapPolicy(rawValue: overlap) ?? .skip)
        return Schedule(
            definition: definition, paused: paused, nextRunAt: Timestamp(milliseconds: nextRunAt),
            lastRunAt: lastRunAt.map(Timestamp.init(milliseconds:)), lastBatchID: lastBatchID,
            createdAt: Timestamp(milliseconds: createdAt))
    }

    /// The caller's time on the database's clock, to the whole second.
    ///
    /// Every host then computes and compares ticks on one clock, so a host whose clock is
    /// minutes ahead does not fire early. The offset is rounded to whole seconds (a schedule's
    /// finest step): the milliseconds a measurement's round trip adds would otherwise shift
    /// an `every` schedule's phase by a few milliseconds at each add or resume.
    func now(_ hostTime: Timestamp) -> Timestamp {
        let offset = database.databaseTime(for: hostTime).milliseconds - hostTime.milliseconds
        let rounded = (Double(offset) / 1000).rounded() * 1000
        return hostTime.adding(milliseconds: Int64(rounded))
    }

    // MARK: - Managing

    @discardableResult
    public func add(_ new: NewSchedule, replace: Bool, now: Timestamp) throws -> Schedule {
        let zone = try maker.check(new)
        let now = self.now(now)
        let next = new.spec.nextTick(after: now, due: nil, in: zone)
        let (kind, content, source) = ScheduleJobMaker.stored(new.prompts)
        let inserted = try database.write { connection in
            // A replaced schedule keeps its history, its last batch (overlap still sees it) and
            // whether it is paused: replacing changes what it runs, not whether it runs. Without
            // replace, of two hosts adding one name at once the second finds the row: DO NOTHING.
            try connection.execute("""
                INSERT INTO schedules (name, spec_kind, spec, timezone, prompts_kind, content, source, agent, session, priority,
                                       max_attempts, overlap, paused, next_run_at, created_at)
                VALUES (\(new.name), \(new.spec.kind), \(new.spec.text), \(zone.identifier), \(kind), \(content), \(source),
                        \(new.agent), \(new.session), \(new.priority), \(new.maxAttempts), \(new.overlap.rawValue), false,
                        \(next.milliseconds), \(now.milliseconds))
                ON CONFLICT (name) DO \(unescaped: replace ? """
                    UPDATE SET
                    spec_kind = excluded.spec_kind, spec = excluded.spec, timezone = excluded.timezone,
                    prompts_kind = excluded.prompts_kind, content = excluded.content, source = excluded.source,
                    agent = excluded.agent, session = excluded.session, priority = excluded.priority,
                    max_attempts = excluded.max_attempts, overlap = excluded.overlap,
                    next_run_at = excluded.next_run_at
                    """ : "NOTHING")
                """)
        }
        if inserted == 0 { throw ScheduleJobMaker.alreadyExists(new.name) }
        guard let added = try schedule(named: new.name) else { throw ScheduleJobMaker.notFound(new.name) }
        return added
    }

    public func schedule(named name: String) throws -> Schedule? {
        try database.read { connection in
            try connection.query("SELECT \(unescaped: Self.columns) FROM schedules WHERE name = \(name)").first.map(Self.schedule)
        }
    }

    public func schedules() throws -> [Schedule] {
        try database.read { connection in
            try connection.query("SELECT \(unescaped: Self.columns) FROM schedules ORDER BY name").map(Self.schedule)
        }
    }

    public func runs(of name: String, limit: Int) throws -> [ScheduleRun] {
        try database.read { connection in
            try connection.query("""
                SELECT tick_at, batch_id, outcome, message, at FROM schedule_runs WHERE name = \(name)
                ORDER BY seq DESC LIMIT \(limit)
                """).map { row in
                let (tickAt, batchID, outcome, message, at) = try row.decode((Int64?, String?, String, String?, Int64).self)
                return ScheduleRun(
                    name: name, tickAt: tickAt.map(Timestamp.init(milliseconds:)), batchID: batchID,
                    outcome: ScheduleRun.Outcome(rawValue: outcome) ?? .failed, message: message,
                    at: Timestamp(milliseconds: at))
            }
        }
    }

    @discardableResult
    public func setPaused(_ name: String, _ paused: Bool, now: Timestamp) throws -> Schedule {
        guard let current = try schedule(named: name) else { throw ScheduleJobMaker.notFound(name) }
        let zone = TimeZone(identifier: current.timeZone) ?? .current
        // Resuming starts from the next tick after now: what was missed while paused stays missed.
        let next = current.spec.nextTick(after: self.now(now), due: current.nextRunAt, in: zone)
        _ = try database.write { connection in
            if paused {
                // next_run_at stays: a host firing right now may be moving it.
                try connection.execute("UPDATE schedules SET paused = true WHERE name = \(name)")
            } else {
                try connection.execute(
                    "UPDATE schedules SET paused = false, next_run_at = \(next.milliseconds) WHERE name = \(name) AND paused")
            }
        }
        guard let updated = try schedule(named: name) else { throw ScheduleJobMaker.notFound(name) }
        return updated
    }

    public func remove(_ name: String) throws {
        let removed = try database.write { connection in
            let removed = try connection.execute("DELETE FROM schedules WHERE name = \(name)")
            try connection.execute("DELETE FROM schedule_runs WHERE name = \(name)")
            return removed
        }
        if removed == 0 { throw ScheduleJobMaker.notFound(name) }
    }

    // MARK: - Firing

    public func fireDue(now: Timestamp) throws -> [ScheduleRun] {
        let now = self.now(now)
        let due = try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.columns) FROM schedules WHERE NOT paused AND next_run_at <= \(now.milliseconds)
                ORDER BY next_run_at, name
                """).map(Self.schedule)
        }
        var runs: [ScheduleRun] = []
        for schedule in due {
            if let run = try fire(schedule, now: now) { runs.append(run) }
        }
        return runs
    }

    /// Fires one due tick, unless another host moved `next_run_at` first.
    /// - parameter now: on the database's clock.
    private func fire(_ schedule: Schedule, now: Timestamp) throws -> ScheduleRun? {
        let tick = schedule.nextRunAt
        let next = schedule.spec.nextTick(after: now, due: tick, in: TimeZone(identifier: schedule.timeZone) ?? .current)
        let batch = NewBatch(source: schedule.batchSource)
        let (jobs, failure) = try maker.jobsOrFailure(for: schedule)
        var run: ScheduleRun?
        _ = try self.jobs.enqueue(batch: batch, jobs: jobs) { connection in
            // The compare-and-set: only the host that still sees this tick due moves it. A
            // concurrent one waits for this row's lock, re-reads it after the commit (READ
            // COMMITTED) and matches nothing.
            run = nil
            let moved = try connection.execute("""
                UPDATE schedules SET next_run_at = \(next.milliseconds)
                WHERE name = \(schedule.name) AND next_run_at = \(tick.milliseconds) AND NOT paused
                """)
            guard moved == 1 else { return false }
            let (outcome, message) = try ScheduleJobMaker.outcome(failure: failure, overlap: schedule.overlap) {
                try Self.unfinishedLastBatch(of: schedule.name, connection)
            }
            run = try record(ScheduleRun(
                name: schedule.name, tickAt: tick, batchID: outcome == .fired ? batch.id : nil, outcome: outcome,
                message: message, at: now), connection)
            return outcome == .fired
        }
        return run
    }

    public func runNow(_ name: String, now: Timestamp) throws -> ScheduleRun {
        guard let schedule = try schedule(named: name) else { throw ScheduleJobMaker.notFound(name) }
        let jobs = try maker.makeJobs(schedule)
        let batch = NewBatch(source: schedule.batchSource)
        let now = self.now(now)
        var run: ScheduleRun?
        _ = try self.jobs.enqueue(batch: batch, jobs: jobs) { connection in
            run = try record(ScheduleRun(name: name, tickAt: nil, batchID: batch.id, outcome: .manual, message: nil, at: now), connection)
            return true
        }
        return run!
    }

    /// Writes a run (dropping the oldest beyond ``runsKept``), and the schedule's last fire when it fired.
    private func record(_ run: ScheduleRun, _ connection: PGConnection) throws -> ScheduleRun {
        try connection.execute("""
            INSERT INTO schedule_runs (name, tick_at, batch_id, outcome, message, at)
            VALUES (\(run.name), \(run.tickAt?.milliseconds), \(run.batchID), \(run.outcome.rawValue), \(run.message),
                    \(run.at.milliseconds))
            """)
        try connection.execute("""
            DELETE FROM schedule_runs WHERE name = \(run.name) AND seq <= (
                SELECT seq FROM schedule_runs WHERE name = \(run.name) ORDER BY seq DESC LIMIT 1 OFFSET \(runsKept))
            """)
        if let batchID = run.batchID {
            try connection.execute(
                "UPDATE schedules SET last_run_at = \(run.at.milliseconds), last_batch_id = \(batchID) WHERE name = \(run.name)")
        }
        return run
    }

    /// The schedule's last batch when it has jobs that have not ended (read in the firing transaction).
    private static func unfinishedLastBatch(of name: String, _ connection: PGConnection) throws -> String? {
        try connection.scalar("""
            SELECT s.last_batch_id FROM schedules s
            WHERE s.name = \(name) AND EXISTS (
                SELECT 1 FROM jobs WHERE batch_id = s.last_batch_id AND status IN ('staged', 'queued', 'running'))
            """, as: String.self)
    }
}
