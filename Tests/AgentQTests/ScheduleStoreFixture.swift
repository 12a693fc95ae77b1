import AgentQ
import AgentQTesting
import Foundation
import JobQueue

/// A schedule store of one driver on a fresh database, with its job store, and as many more
/// "hosts" (SQLite: processes; PostgreSQL: ``JobQueue/PGDatabase`` instances of their own) on
/// that same database as a test asks for.
///
/// The agents are the SQLite home's for both drivers: schedules only look them up.
///
/// ```swift
/// let fixture = try ScheduleStoreFixture(.postgres)
/// defer { fixture.remove() }
/// try fixture.schedules.add(schedule, replace: false, now: start)
/// ```
final class ScheduleStoreFixture: Sendable {
    let driver: StoreDriver
    private let test: TestQueue
    private let url: String?
    let schedules: any ScheduleStore
    let jobs: any JobStore

    init(_ driver: StoreDriver) throws {
        self.driver = driver
        test = try TestQueue()
        url = try driver.databaseURL()
        if let url {
            (schedules, jobs) = try Self.openPostgres(url, test, 1000)
        } else {
            (schedules, jobs) = (test.queue.schedules, test.store)
        }
    }

    var agents: any AgentStore { test.queue.agents }

    /// The schedule and job stores of one more process (SQLite) or host (PostgreSQL).
    /// - parameter clock: the host's clock (PostgreSQL: a host whose clock is off).
    /// - throws: when the database cannot be opened.
    func openHost(
        runsKept: Int = 1000, clock: any TimeSource = SystemTimeSource()
    ) throws -> (schedules: any ScheduleStore, jobs: any JobStore) {
        if let url { return try Self.openPostgres(url, test, runsKept, clock: clock) }
        let database = try SQLiteDatabase(path: test.home.databasePath, migrations: AgentQueue.migrations)
        let jobs = SQLiteJobStore(database: database)
        return (SQLiteScheduleStore(database: database, jobs: jobs, agents: SQLiteAgentStore(database: database), runsKept: runsKept), jobs)
    }

    private static func openPostgres(
        _ url: String, _ test: TestQueue, _ runsKept: Int, clock: any TimeSource = SystemTimeSource()
    ) throws -> (schedules: any ScheduleStore, jobs: any JobStore) {
        let database = try PGDatabase(
            location: try PostgresLocation(url: url), migrations: PostgresJobStore.migrations + PostgresScheduleStore.migrations,
            clock: clock)
        let jobs = PostgresJobStore(database: database)
        return (PostgresScheduleStore(database: database, jobs: jobs, agents: test.queue.agents, runsKept: runsKept), jobs)
    }

    /// The batches a schedule fired.
    func batches(_ name: String) throws -> [Batch] {
        try jobs.batches(limit: 10_000).filter { $0.source == Schedule.batchSource(name) }
    }

    /// Runs every queued job to its end, as a worker would.
    func drain() throws {
        _ = try WorkerPool(
            store: jobs, handler: test.queue.makeWorker(WorkerOptions(mode: .drain)).handler, sink: test.queue.results,
            options: WorkerOptions(mode: .drain, concurrency: 2)
        ).run()
    }

    func remove() { test.remove() }
}
