import JobQueue

/// Where schedules live, and the one place they fire.
///
/// Firing is exactly-once across processes: a tick's batch and the move of the schedule's
/// `next_run_at` commit in one transaction, conditional on `next_run_at` still being the
/// tick that was read, so of several workers that see a tick due only one fires it.
///
/// ```swift
/// try store.add(NewSchedule(name: "nightly", spec: .cron(try CronExpression("@daily")),
///                           prompts: .input("summarise the day")), replace: false, now: .now)
/// let fired = try store.fireDue(now: .now)
/// ```
public protocol ScheduleStore: Sendable {
    /// Checks the prompts (as `submit` would) and stores the schedule; its first tick is the
    /// first after `now`. Replacing keeps the schedule's runs, last batch and paused state.
    /// - throws: ``AgentQError`` (`.alreadyExists` unless `replace`, `.invalidSchedule`,
    ///   `.invalidName`, `.unknownAgent`), ``SubmitRejected`` for a bad file, or a ``JobQueue/StoreError``.
    @discardableResult
    func add(_ schedule: NewSchedule, replace: Bool, now: Timestamp) throws -> Schedule

    func schedule(named name: String) throws -> Schedule?
    /// Every schedule, by name.
    func schedules() throws -> [Schedule]
    /// The latest runs of a schedule, newest first.
    func runs(of name: String, limit: Int) throws -> [ScheduleRun]

    /// Pauses a schedule, or resumes it from the first tick after `now` (ticks missed while
    /// paused do not fire).
    /// - throws: ``AgentQError`` `.notFound`, or a ``JobQueue/StoreError``.
    @discardableResult
    func setPaused(_ name: String, _ paused: Bool, now: Timestamp) throws -> Schedule

    /// - throws: ``AgentQError`` `.notFound`, or a ``JobQueue/StoreError``.
    func remove(_ name: String) throws

    /// Fires every schedule whose tick is due at `now` (not paused), each exactly once however
    /// many processes call this at the same time; ticks missed while nothing ran fire once.
    /// - returns: what this call did (ticks another process fired are not in it).
    /// - throws: a ``JobQueue/StoreError``.
    func fireDue(now: Timestamp) throws -> [ScheduleRun]

    /// Fires a schedule now, once, outside its ticks (paused or not, overlapping or not); its
    /// next tick stays as it was.
    /// - throws: ``AgentQError`` `.notFound`, ``SubmitRejected`` when its prompts no longer make
    ///   jobs, or a ``JobQueue/StoreError``.
    func runNow(_ name: String, now: Timestamp) throws -> ScheduleRun
}
