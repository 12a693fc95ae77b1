import AgentQTesting
import Foundation
import JobQueue
import Testing

/// A host clock that runs `offset` milliseconds away from the real one.
struct SkewedClock: TimeSource {
    let offset: Int64
    func now() -> Timestamp { Timestamp.now.adding(milliseconds: offset) }
}

/// What only PostgreSQL has: several hosts, each with its own connections and its own clock,
/// on one database.
@Suite("PostgreSQL driver across hosts")
struct PostgresJobStoreTests {
    /// Thread-safe records of the concurrent claimers.
    final class Ledger: @unchecked Sendable {
        let lock = NSLock()
        var claims: [String: Int] = [:]
        var lanesHeld: [String: String] = [:]
        var problems: [String] = []

        func claimed(_ job: Job, by worker: String) {
            lock.lock()
            defer { lock.unlock() }
            claims[job.id, default: 0] += 1
            if claims[job.id] == 2 { problems.append("job \(job.id) was handed to a second worker (\(worker))") }
            if let lane = job.lane {
                if let holder = lanesHeld[lane] {
                    problems.append("lane \(lane): \(job.id) started by \(worker) while \(holder) runs")
                }
                lanesHeld[lane] = job.id
            }
        }

        /// Called before the completion commits: the lane is still running in the database until then.
        func finishing(_ job: Job) {
            lock.lock()
            if let lane = job.lane, lanesHeld[lane] == job.id { lanesHeld[lane] = nil }
            lock.unlock()
        }

        func note(_ problem: String) {
            lock.lock()
            problems.append(problem)
            lock.unlock()
        }
    }

    @Test("two hosts claiming from many threads never hand one job to two workers nor run two jobs of a lane at once")
    func concurrentHosts() throws {
        let test = try TestStore(.postgres)
        defer { test.remove() }
        // 300 free jobs and 20 lanes of 10 jobs each, interleaved.
        var jobs: [NewJob] = []
        for index in 0..<500 {
            let lane = index % 5 == 0 || index % 5 == 1 ? "lane-\(index % 20)" : nil
            jobs.append(NewJob(lane: lane, handler: "h", input: "\(index)"))
        }
        let ids = try enqueue(test.store, jobs)
        let hosts = [try test.openAnotherStore(), try test.openAnotherStore()]
        let ledger = Ledger()
        let threadsPerHost = 6
        let group = DispatchGroup()
        for (hostIndex, store) in hosts.enumerated() {
            for thread in 0..<threadsPerHost {
                group.enter()
                let worker = "host\(hostIndex)-w\(thread)"
                Thread.detachNewThread {
                    defer { group.leave() }
                    var idle = 0
                    var pending: [JobOutcome] = []
                    do {
                        while idle < 20 {
                            let result = try store.exchange(ExchangeRequest(
                                workerID: worker, now: .now, outcomes: pending, claimLimit: 1 + thread % 3,
                                hostID: "host\(hostIndex)"))
                            pending = []
                            for job in result.claimed {
                                ledger.claimed(job, by: worker)
                                ledger.finishing(job)
                                pending.append(JobOutcome(job: job, resolution: .succeeded(output: "{}"), delivered: true))
                            }
                            if result.claimed.isEmpty { idle += 1; usleep(2000) } else { idle = 0 }
                        }
                        if !pending.isEmpty { try commit(store, worker: worker, pending) }
                    } catch {
                        ledger.note("\(worker): \(error)")
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 120) == .success)
        #expect(ledger.problems.isEmpty, "\(ledger.problems.prefix(5))")
        let done = try test.store.jobs(ids: ids)
        #expect(done.count == ids.count)
        #expect(done.allSatisfy { $0.status == .succeeded && $0.attempts == 1 }, "a job ran twice or not at all")
        #expect(ledger.claims.count == ids.count && ledger.claims.values.allSatisfy { $0 == 1 })
    }

    @Test("a host whose clock is 10 minutes off neither loses its live lease nor rescues another's; a dead host's lease is rescued")
    func clockSkew() throws {
        let test = try TestStore(.postgres)
        defer { test.remove() }
        let behind = SkewedClock(offset: -600_000), ahead = SkewedClock(offset: 600_000)
        let slowHost = try test.openAnotherStore(clock: behind)
        let fastHost = try test.openAnotherStore(clock: ahead)
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "live"), NewJob(handler: "h", input: "dead")])
        // The slow host claims the first job with a 30 s lease, by its own clock.
        let live = try #require(try claim(slowHost, worker: "slow", now: behind.now(), limit: 1).first)
        #expect(live.id == ids[0])
        // A host on time and a host 10 minutes ahead look for expired leases: this one is live.
        #expect(try test.store.rescueExpiredLeases(now: .now) == 0, "a host on time took a live lease of a slow host")
        #expect(try fastHost.rescueExpiredLeases(now: ahead.now()) == 0, "a fast host took a live lease")
        // The slow host renews it, by its clock, and still holds it.
        let renewed = try slowHost.heartbeat(workerID: "slow", leaseUntil: behind.now().adding(milliseconds: 30_000))
        #expect(renewed.map(\.seq) == [live.seq])
        #expect(try fastHost.rescueExpiredLeases(now: ahead.now()) == 0)
        #expect(try job(test.store, ids[0]).status == .running)

        // The fast host claims the second job with a 1 s lease and dies: any host rescues it once
        // its lease is over on the database's clock (2 s later, by the slow host's own clock).
        let dead = try #require(try claim(fastHost, worker: "fast", now: ahead.now(), limit: 1, leaseMilliseconds: 1000).first)
        #expect(dead.id == ids[1])
        #expect(try slowHost.rescueExpiredLeases(now: behind.now()) == 0, "rescued before its lease ended")
        #expect(try slowHost.rescueExpiredLeases(now: behind.now().adding(milliseconds: 2000)) == 1)
        let rescued = try job(test.store, ids[1])
        #expect(rescued.status == .queued && rescued.error?.type == "lease_expired")
        #expect(try job(test.store, ids[0]).status == .running, "the slow host's live lease went with it")
    }

    @Test("a cancel from another host reaches a running job through NOTIFY, long before its next heartbeat")
    func cancelWakesWorker() throws {
        let test = try TestStore(.postgres)
        defer { test.remove() }
        let workerDatabase = try test.openDatabase()
        let workerStore = PostgresJobStore(database: workerDatabase, wake: PostgresWakeSignal(database: workerDatabase))
        let started = Counter()
        let handler = ClosureHandler { job, token in
            guard job.input == "long" else { return "{}" }
            started.increment()
            token.wait(milliseconds: 60_000)
            throw JobCancelled(output: nil)
        }
        // Heartbeats every ten minutes, a lease of thirty: only the wake-up can bring the cancel in time.
        var options = WorkerOptions(
            mode: .forever, concurrency: 1, leaseMilliseconds: 1_800_000, heartbeatMilliseconds: 600_000,
            pollMilliseconds: 10)
        options.wake = PostgresWakeSignal(database: workerDatabase)
        let pool = WorkerPool(store: workerStore, handler: handler, sink: CollectingSink(), options: options)
        let run = BackgroundRun(pool)
        defer { pool.shutdown(graceMilliseconds: 0); _ = run.wait(seconds: 10) }
        let ids = try enqueue(workerStore, [NewJob(handler: "h", input: "long")])
        try #require(eventually(within: 10) { started.value == 1 })
        // Another host, its own connections and its own wake signal.
        let otherDatabase = try test.openDatabase()
        let otherHost = PostgresJobStore(database: otherDatabase, wake: PostgresWakeSignal(database: otherDatabase))
        let sent = Date()
        #expect(describe(try otherHost.cancel(.ids(ids), now: .now)) == ["\(ids[0]) cancel_requested running"])
        #expect(eventually(within: 20) { (try? job(test.store, ids[0]).status) == .cancelled })
        // Informational: the heartbeat was ten minutes away.
        print("cancel reached the worker and committed after \(Int(Date().timeIntervalSince(sent) * 1000)) ms")
    }

    @Test("an enqueue on another host wakes an idle pool through NOTIFY, long before its poll")
    func enqueueWakesWorker() throws {
        let test = try TestStore(.postgres)
        defer { test.remove() }
        let workerDatabase = try test.openDatabase()
        let workerStore = PostgresJobStore(database: workerDatabase)
        var options = WorkerOptions(mode: .forever, concurrency: 1, pollMilliseconds: 600_000)
        options.wake = PostgresWakeSignal(database: workerDatabase)
        let warmUp = try enqueue(workerStore, [NewJob(handler: "h", input: "first")])
        let pool = WorkerPool(
            store: workerStore, handler: ClosureHandler { _, _ in "{}" }, sink: CollectingSink(), options: options)
        let run = BackgroundRun(pool)
        defer { pool.shutdown(graceMilliseconds: 0); _ = run.wait(seconds: 10) }
        try #require(eventually(within: 10) { (try? job(test.store, warmUp[0]).status) == .succeeded })
        let otherDatabase = try test.openDatabase()
        let otherHost = PostgresJobStore(database: otherDatabase, wake: PostgresWakeSignal(database: otherDatabase))
        let ids = try enqueue(otherHost, [NewJob(handler: "h", input: "second")])
        #expect(eventually(within: 20) { (try? job(test.store, ids[0]).status) == .succeeded })
    }

    @Test("a job pinned to a host is claimed only by that host's workers")
    func hostPinning() throws {
        let test = try TestStore(.postgres)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "a", host: "host-a"), NewJob(handler: "h", input: "any")])
        let fromB = try test.store.exchange(ExchangeRequest(workerID: "b", now: .now, claimLimit: 10, hostID: "host-b")).claimed
        #expect(fromB.map(\.id) == [ids[1]])
        let fromA = try test.store.exchange(ExchangeRequest(workerID: "a", now: .now, claimLimit: 10, hostID: "host-a")).claimed
        #expect(fromA.map(\.id) == [ids[0]])
        #expect(fromA.first?.host == "host-a")
    }

    @Test("a 20,000-job enqueue is one transaction: all in, in order, or nothing when its body throws")
    func bulkEnqueue() throws {
        struct Stop: Error {}
        let test = try TestStore(.postgres)
        defer { test.remove() }
        let rows = 20_000
        let summary = try test.store.enqueue(batch: NewBatch(source: "big")) { inserter in
            for index in 0..<rows {
                try inserter.insert(NewJob(lane: index % 2 == 0 ? nil : "l\"a\\ne,{}", handler: "h", input: "\(index)",
                                           metadata: index % 3 == 0 ? nil : "NULL"))
            }
        }
        #expect(summary.count == rows)
        let listed = try test.store.jobs(matching: JobFilter(batchID: summary.batchID, limit: 4))
        #expect(listed.map(\.input) == ["0", "1", "2", "3"])
        #expect(listed.map(\.lane) == [nil, "l\"a\\ne,{}", nil, "l\"a\\ne,{}"])
        #expect(listed.map(\.metadata) == [nil, "NULL", "NULL", nil])
        #expect(throws: Stop.self) {
            _ = try test.store.enqueue(batch: NewBatch(source: "broken")) { inserter in
                for index in 0..<rows { try inserter.insert(NewJob(handler: "h", input: "\(index)")) }
                throw Stop()
            }
        }
        #expect(try test.store.summary().counts.total == rows)
        #expect(try test.store.summary().batches == 1)
    }
}
