import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Schedules fire exactly once, catch up once, skip overlaps, pause, on SQLite and PostgreSQL")
struct ScheduleStoreTests {
    /// 2031-01-01T00:00:00Z: far enough ahead that no real-clock worker fires these schedules.
    static let start = Timestamp(milliseconds: 1_924_992_000_000)

    static func every(_ text: String, name: String = "tick", overlap: OverlapPolicy = .allow) throws -> NewSchedule {
        NewSchedule(name: name, spec: .every(try Every(text)), timeZone: "UTC", prompts: .input("hello"), overlap: overlap)
    }

    @Test("six processes or hosts racing to fire the same due ticks make one batch per tick", arguments: StoreDriver.allCases)
    func exactlyOnceAcrossConnections(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        try fixture.schedules.add(try Self.every("1m"), replace: false, now: Self.start)
        // Six stores, each on its own connections, as six worker processes (SQLite) or six
        // hosts (PostgreSQL) would have.
        let stores = try (0..<6).map { _ in try fixture.openHost().schedules }
        let ticks = 25
        let fired = Counter()
        for tick in 1...ticks {
            let now = Self.start.adding(milliseconds: Int64(tick) * 60_000 + 500)
            // One thread per store, released together, so their reads of the due tick overlap.
            Racers.run(stores) { _, store in
                fired.add(try store.fireDue(now: now).filter { $0.outcome == .fired }.count)
            }
        }
        #expect(fired.value == ticks)
        let batches = try fixture.batches("tick")
        #expect(batches.count == ticks)
        #expect(batches.allSatisfy { $0.counts.total == 1 })
        let runs = try fixture.schedules.runs(of: "tick", limit: 100)
        #expect(Set(runs.compactMap(\.tickAt)).count == ticks)
        #expect(Set(runs.compactMap(\.batchID)) == Set(batches.map(\.id)))
    }

    @Test("of six processes or hosts adding one name at once, one adds it and the others are told it exists",
          arguments: StoreDriver.allCases)
    func addRace(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let stores = try (0..<6).map { _ in try fixture.openHost().schedules }
        for round in 0..<5 {
            let added = Counter(), refused = Counter()
            Racers.run(stores) { index, store in
                do {
                    try store.add(try Self.every("\(index + 1)m", name: "race\(round)"), replace: false, now: Self.start)
                    added.increment()
                } catch let error as AgentQError where error.code == .alreadyExists {
                    refused.increment()
                }
            }
            #expect(added.value == 1 && refused.value == 5, "round \(round)")
        }
    }

    @Test("ticks missed while nothing ran fire one catch-up run; the next tick is the first after now", arguments: StoreDriver.allCases)
    func catchUpAfterAGap(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let schedules = fixture.schedules
        let cron = NewSchedule(name: "five", spec: .cron(try CronExpression("*/5 * * * *")), timeZone: "UTC", prompts: .input("x"))
        let added = try schedules.add(cron, replace: false, now: Self.start.adding(milliseconds: 2 * 60_000))
        #expect(added.nextRunAt == Self.start.adding(milliseconds: 5 * 60_000))
        // Nothing ran from 00:02 to 00:47: nine ticks came due; one run fires.
        let late = Self.start.adding(milliseconds: 47 * 60_000)
        let runs = try schedules.fireDue(now: late)
        #expect(runs.map(\.outcome) == [.fired])
        #expect(runs.first?.tickAt == Self.start.adding(milliseconds: 5 * 60_000))
        #expect(try schedules.schedule(named: "five")?.nextRunAt == Self.start.adding(milliseconds: 50 * 60_000))
        #expect(try schedules.fireDue(now: late).isEmpty)
        #expect(try fixture.batches("five").count == 1)

        // An interval keeps its phase: added at 0, every 10 s, fired at 95 s → next at 100 s.
        try schedules.add(try Self.every("10s", name: "ten"), replace: false, now: Self.start)
        let ten = try schedules.fireDue(now: Self.start.adding(milliseconds: 95_000)).filter { $0.name == "ten" }
        #expect(ten.count == 1)
        #expect(try schedules.schedule(named: "ten")?.nextRunAt == Self.start.adding(milliseconds: 100_000))
    }

    @Test("a tick whose previous run is unfinished is skipped unless overlap is allow", arguments: StoreDriver.allCases)
    func overlap(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let schedules = fixture.schedules
        try schedules.add(try Self.every("1m", name: "skip", overlap: .skip), replace: false, now: Self.start)
        try schedules.add(try Self.every("1m", name: "allow", overlap: .allow), replace: false, now: Self.start)
        func fire(_ minute: Int64) throws -> [String: ScheduleRun.Outcome] {
            let runs = try schedules.fireDue(now: Self.start.adding(milliseconds: minute * 60_000 + 1))
            return Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0.outcome) })
        }
        #expect(try fire(1) == ["skip": .fired, "allow": .fired])
        // Nothing ran the first batches: "skip" skips, "allow" piles up.
        #expect(try fire(2) == ["skip": .skipped, "allow": .fired])
        #expect(try fixture.batches("skip").count == 1)
        #expect(try fixture.batches("allow").count == 2)
        #expect(try schedules.runs(of: "skip", limit: 1).first?.message?.contains("still running") == true)

        // Once the queue is drained, "skip" fires again on its next tick.
        try fixture.drain()
        #expect(try fire(3) == ["skip": .fired, "allow": .fired])
        #expect(try fixture.batches("skip").count == 2)
    }

    @Test("a paused schedule does not fire; resumed, it starts from the next tick without a backlog", arguments: StoreDriver.allCases)
    func pause(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let schedules = fixture.schedules
        try schedules.add(try Self.every("1m"), replace: false, now: Self.start)
        try schedules.setPaused("tick", true, now: Self.start)
        #expect(try schedules.fireDue(now: Self.start.adding(milliseconds: 10 * 60_000)).isEmpty)
        #expect(try schedules.schedule(named: "tick")?.paused == true)
        let resumed = try schedules.setPaused("tick", false, now: Self.start.adding(milliseconds: 10 * 60_000 + 30_000))
        #expect(resumed.nextRunAt == Self.start.adding(milliseconds: 11 * 60_000))
        #expect(try schedules.fireDue(now: Self.start.adding(milliseconds: 10 * 60_000 + 40_000)).isEmpty)
        #expect(try schedules.fireDue(now: Self.start.adding(milliseconds: 11 * 60_000)).count == 1)
        #expect(try fixture.batches("tick").count == 1)
    }

    @Test("run fires once now, paused or not, and leaves the next tick alone", arguments: StoreDriver.allCases)
    func runNow(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let schedules = fixture.schedules
        let added = try schedules.add(try Self.every("1h"), replace: false, now: Self.start)
        try schedules.setPaused("tick", true, now: Self.start)
        let run = try schedules.runNow("tick", now: Self.start.adding(milliseconds: 1000))
        #expect(run.outcome == .manual && run.tickAt == nil)
        let schedule = try #require(try schedules.schedule(named: "tick"))
        #expect(schedule.nextRunAt == added.nextRunAt)
        #expect(schedule.lastBatchID == run.batchID)
        let jobs = try fixture.jobs.jobs(matching: JobFilter(batchID: run.batchID))
        #expect(jobs.map(\.input) == ["hello"])
    }

    @Test("add checks the prompts like submit, refuses a second schedule of one name, and replace replaces", arguments: StoreDriver.allCases)
    func addChecks(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let schedules = fixture.schedules
        let file = "{\"input\":\"a\"}\n{\"input\":\"b\",\"agent\":\"nobody\"}\n{\"input\":\"c\",\"run_at\":\"2031-01-01T00:00:00Z\"}\n"
        var bad = try Self.every("1m")
        bad.prompts = .file(name: "p.jsonl", content: file)
        do {
            try schedules.add(bad, replace: false, now: Self.start)
            Issue.record("a file with bad lines was accepted")
        } catch let rejected as SubmitRejected {
            #expect(rejected.invalidLines.map(\.description) == [
                "p.jsonl:2: unknown agent 'nobody' (add it with: agentq agents add FILE.json)",
                "p.jsonl:3: \"run_at\" cannot be used here (a scheduled line runs when its schedule fires)",
            ])
        }
        #expect(try schedules.schedules().isEmpty)
        // Each fire is one transaction: a file larger than one submit chunk is refused.
        bad.prompts = .file(
            name: "big.jsonl", content: String(repeating: "{\"input\":\"x\"}\n", count: SQLiteScheduleStore.maximumJobsPerFire + 1))
        #expect(throws: AgentQError.self) { try schedules.add(bad, replace: false, now: Self.start) }
        #expect(try schedules.schedules().isEmpty)

        var good = try Self.every("1m")
        good.prompts = .file(name: "p.jsonl", content: "{\"input\":\"a\"}\n{\"input\":\"b\",\"session\":\"s1\"}\n")
        good.session = "daily"
        try schedules.add(good, replace: false, now: Self.start)
        #expect(throws: AgentQError.self) { try schedules.add(good, replace: false, now: Self.start) }
        let run = try schedules.runNow("tick", now: Self.start)
        let jobs = try fixture.jobs.jobs(matching: JobFilter(batchID: run.batchID))
        #expect(jobs.map(\.input) == ["a", "b"])
        #expect(jobs.map(\.lane) == ["daily", "s1"])

        try schedules.setPaused("tick", true, now: Self.start)
        try schedules.add(try Self.every("5m"), replace: true, now: Self.start)
        #expect(try schedules.schedule(named: "tick")?.spec.text == "5m")
        #expect(try schedules.schedule(named: "tick")?.paused == true)
        #expect(try schedules.schedule(named: "tick")?.lastBatchID == run.batchID)
        #expect(try schedules.schedule(named: "tick")?.prompts == .input("hello"))
        for name in ["../x", "", "-a"] {
            var hostile = try Self.every("1m")
            hostile.name = name
            #expect(throws: AgentQError.self, "\(name)") { try schedules.add(hostile, replace: false, now: Self.start) }
        }
    }

    @Test("a schedule keeps its latest runs, not all of them", arguments: StoreDriver.allCases)
    func runsArePruned(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        let runsKept = 20
        let schedules = try fixture.openHost(runsKept: runsKept).schedules
        try schedules.add(try Self.every("1s"), replace: false, now: Self.start)
        let fires = runsKept + 5
        for second in 1...fires {
            #expect(try schedules.fireDue(now: Self.start.adding(milliseconds: Int64(second) * 1000)).count == 1)
        }
        let runs = try schedules.runs(of: "tick", limit: fires)
        #expect(runs.count == runsKept)
        #expect(runs.first?.tickAt == Self.start.adding(milliseconds: Int64(fires) * 1000))
        #expect(try fixture.batches("tick").count == fires)
    }

    @Test("prompts that no longer make jobs record a failed tick and move on", arguments: StoreDriver.allCases)
    func failedTick(_ driver: StoreDriver) throws {
        let fixture = try ScheduleStoreFixture(driver)
        defer { fixture.remove() }
        try fixture.agents.save(AgentDefinition(name: "gone", provider: "echo", model: "echo"))
        var schedule = try Self.every("1m")
        schedule.agent = "gone"
        try fixture.schedules.add(schedule, replace: false, now: Self.start)
        _ = try fixture.agents.remove(named: "gone")
        let runs = try fixture.schedules.fireDue(now: Self.start.adding(milliseconds: 60_000))
        #expect(runs.map(\.outcome) == [.failed])
        #expect(runs.first?.message?.contains("unknown agent 'gone'") == true)
        #expect(try fixture.schedules.schedule(named: "tick")?.nextRunAt == Self.start.adding(milliseconds: 120_000))
        #expect(try fixture.batches("tick").isEmpty)
    }

    /// A host clock `offset` milliseconds away from the real one.
    struct SkewedClock: TimeSource {
        let offset: Int64
        func now() -> Timestamp { Timestamp.now.adding(milliseconds: offset) }
    }

    @Test("a host whose clock runs 10 minutes ahead does not fire a tick 10 minutes early (PostgreSQL: the database's clock)")
    func hostClockAhead() throws {
        let fixture = try ScheduleStoreFixture(.postgres)
        defer { fixture.remove() }
        let now = Timestamp.now
        let added = try fixture.schedules.add(try Self.every("5m"), replace: false, now: now)
        let ahead = SkewedClock(offset: 600_000)
        let fastHost = try fixture.openHost(clock: ahead).schedules
        #expect(try fastHost.fireDue(now: ahead.now()).isEmpty)
        #expect(try fastHost.schedule(named: "tick")?.nextRunAt == added.nextRunAt)
        #expect(try fixture.batches("tick").isEmpty)
        // A host on the database's clock fires the tick when it comes.
        #expect(try fixture.schedules.fireDue(now: added.nextRunAt).map(\.outcome) == [.fired])
    }
}
