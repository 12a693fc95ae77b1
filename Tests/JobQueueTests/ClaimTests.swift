import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Claiming jobs")
struct ClaimTests {
    @Test("highest priority first, then submission order", arguments: StoreDriver.allCases)
    func priorityThenFIFO(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let priorities = [0, 5, 0, 10, 5, 0, -3, 10]
        let ids = try enqueue(test.store, priorities.enumerated().map { index, priority in
            NewJob(handler: "h", input: "job \(index)", priority: priority)
        })
        // Expected: 10s in submission order (3, 7), then 5s (1, 4), then 0s (0, 2, 5), then -3 (6).
        let expected = [3, 7, 1, 4, 0, 2, 5, 6].map { ids[$0] }

        let claimed = try claim(test.store, limit: 100)
        #expect(claimed.map(\.id) == expected)
        #expect(claimed.map(\.priority) == [10, 10, 5, 5, 0, 0, 0, -3])
        #expect(claimed.allSatisfy { $0.status == .running && $0.attempts == 1 && $0.workerID == "w1" })
        #expect(try claim(test.store, limit: 100).isEmpty)
    }

    @Test("one at a time, claims follow the same order", arguments: StoreDriver.allCases)
    func oneAtATime(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(handler: "h", input: "a", priority: 1),
            NewJob(handler: "h", input: "b", priority: 2),
            NewJob(handler: "h", input: "c", priority: 1),
            NewJob(handler: "h", input: "d", priority: 2),
        ])
        var order: [String] = []
        for _ in 0..<4 {
            let claimed = try claim(test.store, limit: 1)
            #expect(claimed.count == 1)
            order += claimed.map(\.id)
        }
        #expect(order == [ids[1], ids[3], ids[0], ids[2]])
        #expect(try claim(test.store, limit: 1).isEmpty)
        let counts = try test.store.counts(batchID: nil)
        #expect(counts.running == 4)
        #expect(counts.queued == 0)
    }

    @Test("claimLimit caps how many jobs one exchange takes", arguments: StoreDriver.allCases)
    func claimLimit(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        try enqueue(test.store, (0..<10).map { NewJob(handler: "h", input: "\($0)") })
        #expect(try claim(test.store, limit: 3).count == 3)
        #expect(try claim(test.store, limit: 0).count == 0)
        #expect(try claim(test.store, limit: 4).count == 4)
        #expect(try claim(test.store, limit: 100).count == 3)
        #expect(try test.store.counts(batchID: nil).running == 10)
    }

    @Test("a job is not claimed before its run_at", arguments: StoreDriver.allCases)
    func runAt(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let now = Timestamp.now
        let later = now.adding(milliseconds: 60_000)
        let ids = try enqueue(test.store, [
            NewJob(handler: "h", input: "later", priority: 100, runAt: later),
            NewJob(handler: "h", input: "now", runAt: now),
        ])
        #expect(try claim(test.store, now: now, limit: 10).map(\.id) == [ids[1]])
        #expect(try claim(test.store, now: later.adding(milliseconds: -1), limit: 10).isEmpty)
        #expect(try claim(test.store, now: later, limit: 10).map(\.id) == [ids[0]])
    }

    @Test("a claim sets the lease fields and the start time", arguments: StoreDriver.allCases)
    func claimFields(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let now = Timestamp.now.adding(milliseconds: 5_000)
        let ids = try enqueue(test.store, [NewJob(customID: "c-1", handler: "h", input: "in", metadata: #"{"k":1}"#)])
        let claimed = try #require(try claim(test.store, worker: "worker-7", now: now, limit: 1).first)
        #expect(claimed.id == ids[0])
        #expect(claimed.customID == "c-1")
        #expect(claimed.input == "in")
        #expect(claimed.metadata == #"{"k":1}"#)
        #expect(claimed.startedAt == now)
        #expect(claimed.workerID == "worker-7")
        let stored = try job(test.store, ids[0])
        #expect(stored.status == .running)
        #expect(stored.attempts == 1)
        #expect(stored.startedAt == now)
    }

    @Test("claim scopes: a batch or a lane only", arguments: StoreDriver.allCases)
    func scopes(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let batch = NewBatch(source: "b.jsonl")
        let inBatch = try enqueue(test.store, [NewJob(handler: "h", input: "1"), NewJob(handler: "h", input: "2")], batch: batch)
        let loose = try enqueue(test.store, [
            NewJob(lane: "L", handler: "h", input: "3", priority: 50), NewJob(handler: "h", input: "4", priority: 99),
        ])
        #expect(try claim(test.store, limit: 10, scope: .batch(batch.id)).map(\.id) == inBatch)
        #expect(try claim(test.store, limit: 10, scope: .lane("L")).map(\.id) == [loose[0]])
        #expect(try claim(test.store, limit: 10, scope: .lane("other")).isEmpty)
        #expect(try claim(test.store, limit: 10).map(\.id) == [loose[1]])
        #expect(try test.store.hasUnfinishedJobs(in: .batch(batch.id)))
        #expect(try !test.store.hasUnfinishedJobs(in: .batch("bat_none")))
    }

    @Test("never two claimers on one job: concurrent stores on one file", arguments: StoreDriver.allCases)
    func concurrentClaimers(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let total = 500
        let ids = try enqueue(test.store, (0..<total).map { NewJob(handler: "h", input: "job \($0)") })
        let claimers = 4
        let stores = try (0..<claimers).map { _ in try test.openAnotherStore() }

        final class Box: @unchecked Sendable {
            let lock = NSLock()
            var perWorker: [[String]]
            var errors: [String] = []
            init(_ count: Int) { perWorker = Array(repeating: [], count: count) }
        }
        let box = Box(claimers)
        let group = DispatchGroup()
        let startGate = DispatchSemaphore(value: 0)
        for index in 0..<claimers {
            group.enter()
            let store = stores[index]
            Thread.detachNewThread {
                defer { group.leave() }
                startGate.wait()
                var mine: [String] = []
                do {
                    while true {
                        // Small, varying claim sizes keep the claimers interleaved.
                        let claimed = try store.exchange(ExchangeRequest(
                            workerID: "claimer-\(index)", now: .now, claimLimit: 1 + (mine.count % 5))
                        ).claimed
                        if claimed.isEmpty { break }
                        for job in claimed where job.workerID != "claimer-\(index)" {
                            box.lock.lock()
                            box.errors.append("job \(job.id) claimed by \(index) but owned by \(job.workerID ?? "nil")")
                            box.lock.unlock()
                        }
                        mine += claimed.map(\.id)
                    }
                } catch {
                    box.lock.lock()
                    box.errors.append("claimer \(index): \(error)")
                    box.lock.unlock()
                }
                box.lock.lock()
                box.perWorker[index] = mine
                box.lock.unlock()
            }
        }
        for _ in 0..<claimers { startGate.signal() }
        #expect(group.wait(timeout: .now() + 60) == .success)

        #expect(box.errors.isEmpty)
        let all = box.perWorker.flatMap { $0 }
        #expect(all.count == total)
        #expect(Set(all).count == all.count, "a job was claimed twice")
        #expect(Set(all) == Set(ids))
        // Every job was claimed exactly once: attempts is 1 everywhere and the owner matches the claimer.
        let running = try test.store.jobs(matching: JobFilter(status: .running))
        #expect(running.count == total)
        #expect(running.allSatisfy { $0.attempts == 1 })
        var owner: [String: String] = [:]
        for (index, claimed) in box.perWorker.enumerated() {
            for id in claimed { owner[id] = "claimer-\(index)" }
        }
        #expect(running.allSatisfy { owner[$0.id] == $0.workerID })
    }
}
