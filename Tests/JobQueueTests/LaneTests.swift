import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Lanes")
struct LaneTests {
    @Test("a later job of a lane waits while an earlier one is queued, whatever its priority", arguments: StoreDriver.allCases)
    func waitsWhileEarlierQueued(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(lane: "A", handler: "h", input: "a1", priority: 0),
            NewJob(lane: "A", handler: "h", input: "a2", priority: 10),
        ])
        // a2 has the higher priority but a1 comes first in its lane.
        let first = try claim(test.store, limit: 1)
        #expect(first.map(\.id) == [ids[0]])
        // While a1 runs, a2 is not claimable.
        #expect(try claim(test.store, limit: 10).isEmpty)
        #expect(try job(test.store, ids[1]).status == .queued)

        try commit(test.store, [JobOutcome(job: first[0], resolution: .succeeded(output: "{}"))])
        #expect(try claim(test.store, limit: 10).map(\.id) == [ids[1]])
    }

    @Test("a lane's jobs run one at a time in submission order", arguments: StoreDriver.allCases)
    func oneAtATimeInOrder(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, (0..<5).map {
            NewJob(lane: "session-1", handler: "h", input: "turn \($0)", priority: $0 * 10)
        })
        var order: [String] = []
        for _ in 0..<5 {
            let claimed = try claim(test.store, limit: 10)
            #expect(claimed.count == 1)
            guard let job = claimed.first else { break }
            order.append(job.id)
            #expect(try claim(test.store, limit: 10).isEmpty)
            try commit(test.store, [JobOutcome(job: job, resolution: .succeeded(output: "{}"))])
        }
        #expect(order == ids)
        #expect(try test.store.counts(batchID: nil).succeeded == 5)
    }

    @Test("different lanes, and jobs without a lane, are claimed together", arguments: StoreDriver.allCases)
    func differentLanesTogether(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(lane: "A", handler: "h", input: "a1"),
            NewJob(lane: "A", handler: "h", input: "a2"),
            NewJob(lane: "B", handler: "h", input: "b1"),
            NewJob(lane: "B", handler: "h", input: "b2"),
            NewJob(handler: "h", input: "free1"),
            NewJob(handler: "h", input: "free2"),
        ])
        let claimed = try claim(test.store, limit: 10)
        #expect(Set(claimed.map(\.id)) == Set([ids[0], ids[2], ids[4], ids[5]]))
        #expect(claimed.count == 4)
    }

    @Test("a job waiting for a retry still holds its lane", arguments: StoreDriver.allCases)
    func retryHoldsLane(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(lane: "A", handler: "h", input: "a1"),
            NewJob(lane: "A", handler: "h", input: "a2"),
        ])
        let now = Timestamp.now
        let first = try #require(try claim(test.store, now: now, limit: 1).first)
        let retryAt = now.adding(milliseconds: 10_000)
        try commit(test.store, now: now, [JobOutcome(
            job: first, resolution: .retry(JobError(type: "flaky", message: "again"), at: retryAt, output: nil))])
        #expect(try claim(test.store, now: now.adding(milliseconds: 5_000), limit: 10).isEmpty)
        #expect(try claim(test.store, now: retryAt, limit: 10).map(\.id) == [ids[0]])
    }

    @Test("a finished (failed or cancelled) job frees its lane", arguments: StoreDriver.allCases)
    func finishedFreesLane(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [
            NewJob(lane: "A", handler: "h", input: "a1"),
            NewJob(lane: "A", handler: "h", input: "a2"),
            NewJob(lane: "A", handler: "h", input: "a3"),
        ])
        let first = try #require(try claim(test.store, limit: 1).first)
        try commit(test.store, [JobOutcome(
            job: first, resolution: .failed(JobError(type: "bad", message: "no"), output: nil))])
        _ = try test.store.cancel(.ids([ids[1]]), now: .now)
        #expect(try claim(test.store, limit: 10).map(\.id) == [ids[2]])
    }
}
