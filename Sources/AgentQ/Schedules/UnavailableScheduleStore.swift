import JobQueue

/// Schedules on a database that has no schedule store yet: listing shows none, firing fires
/// nothing, and adding one says why it cannot be kept.
///
/// A stand-in until `PostgresScheduleStore` is wired into ``AgentQueue``.
///
/// ```swift
/// let schedules: any ScheduleStore = UnavailableScheduleStore(location: "postgres://agentq@db:5432/agentq")
/// ```
struct UnavailableScheduleStore: ScheduleStore {
    var location: String

    private func unavailable() -> AgentQError {
        AgentQError(.invalidInput, "schedules are not kept in \(location) yet: use the SQLite home for schedules")
    }

    func add(_ schedule: NewSchedule, replace: Bool, now: Timestamp) throws -> Schedule { throw unavailable() }
    func schedule(named name: String) throws -> Schedule? { nil }
    func schedules() throws -> [Schedule] { [] }
    func runs(of name: String, limit: Int) throws -> [ScheduleRun] { [] }
    func setPaused(_ name: String, _ paused: Bool, now: Timestamp) throws -> Schedule { throw unavailable() }
    func remove(_ name: String) throws { throw unavailable() }
    func fireDue(now: Timestamp) throws -> [ScheduleRun] { [] }
    func runNow(_ name: String, now: Timestamp) throws -> ScheduleRun { throw unavailable() }
}
