import AgentQTesting
import Foundation
import JobQueue
import Testing

/// A handler that sleeps on its token without a thread, counting how many run at once.
private struct SleepingHandler: AsyncJobHandler {
    let milliseconds: Int64
    let inFlight: InFlightCounter

    func run(_ job: Job, token: CancellationToken, threads: WorkerThreads) async throws -> String {
        inFlight.enter()
        defer { inFlight.leave() }
        try await token.sleep(milliseconds: milliseconds)
        // Blocking work goes to the pool's threads, and comes back.
        let echoed = try await threads.perform { job.input }
        return #"{"input":"\#(echoed)"}"#
    }
}

/// A handler that counts the jobs it started, and finishes at once or after a short sleep
/// (which holds no thread, so many can be in flight).
private struct CountingHandler: AsyncJobHandler {
    let started: Counter
    let inFlight: InFlightCounter
    var sleepMilliseconds: Int64 = 0

    func run(_ job: Job, token: CancellationToken, threads: WorkerThreads) async throws -> String {
        started.increment()
        inFlight.enter()
        defer { inFlight.leave() }
        if sleepMilliseconds > 0 { try await token.sleep(milliseconds: sleepMilliseconds) }
        return #"{"input":"\#(job.input)"}"#
    }
}

/// A sink whose first delivery is a slow disk: it returns only once `started` reaches
/// `waitFor`, or after ten seconds, and records which.
private final class SlowFirstDeliverySink: FinishedJobSink, @unchecked Sendable {
    let started: Counter
    let waitFor: Int
    private let lock = NSLock()
    private var calls = 0
    private(set) var startedWhileFirstWasWritten: Int?

    init(started: Counter, waitFor: Int) {
        self.started = started
        self.waitFor = waitFor
    }

    func deliver(_ jobs: [Job]) throws {
        lock.lock()
        calls += 1
        let first = calls == 1
        lock.unlock()
        guard first else { return }
        _ = eventually(within: 10) { started.value >= waitFor }
        lock.lock()
        startedWhileFirstWasWritten = started.value
        lock.unlock()
    }
}

@Suite("Asynchronous job handlers")
struct AsyncJobHandlerTests {
    @Test("a job's slot frees when its handler returns: the next jobs run while its result is written", arguments: StoreDriver.allCases)
    func slotFreesBeforeTheResultIsWritten(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, (0..<3).map { NewJob(handler: "count", input: "job-\($0)") })
        let started = Counter()
        let inFlight = InFlightCounter()
        // The other jobs run while the first one's result is written.
        let sink = SlowFirstDeliverySink(started: started, waitFor: 3)
        var options = fastOptions(mode: .drain)
        options.concurrency = 1
        options.threads = 2
        let summary = try WorkerPool(
            store: test.store, handler: CountingHandler(started: started, inFlight: inFlight), sink: sink, options: options
        ).run()
        #expect(summary.succeeded == 3)
        // Before, the first result's write held the only slot: nothing else started for ten seconds.
        #expect(sink.startedWhileFirstWasWritten == 3)
        // Still one job at a time in the handler.
        #expect(inFlight.most == 1)
        for id in ids { #expect(try job(test.store, id).status == .succeeded) }
    }

    @Test("concurrency is the number of jobs in flight, on a few threads", arguments: StoreDriver.allCases)
    func concurrencyIsJobsInFlight(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, (0..<3000).map { NewJob(handler: "sleep", input: "job-\($0)") })
        let inFlight = InFlightCounter()
        let sink = CollectingSink()
        var options = fastOptions(mode: .drain)
        options.concurrency = 1500
        options.threads = 3
        let summary = try WorkerPool(
            store: test.store, handler: SleepingHandler(milliseconds: 800, inFlight: inFlight), sink: sink, options: options
        ).run()
        #expect(summary.succeeded == 3000)
        // Exactly the concurrency: never more, and the whole of it at once.
        #expect(inFlight.most == 1500)
        #expect(sink.deliveredIDs == Set(ids))
        #expect(try job(test.store, ids[17]).output == #"{"input":"job-17"}"#)
    }

    @Test("short asynchronous jobs are claimed ahead, and still never more than concurrency run at once", arguments: StoreDriver.allCases)
    func prefetchKeepsTheConcurrency(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, (0..<600).map { NewJob(handler: "count", input: "job-\($0)") })
        let started = Counter()
        let inFlight = InFlightCounter()
        let sink = CollectingSink()
        var options = fastOptions(mode: .drain)
        options.concurrency = 3
        options.threads = 2
        // 2 ms jobs: the adaptive prefetch holds about 20 ms of them ready.
        let handler = CountingHandler(started: started, inFlight: inFlight, sleepMilliseconds: 2)
        let summary = try WorkerPool(store: test.store, handler: handler, sink: sink, options: options).run()
        #expect(summary.succeeded == 600)
        #expect(started.value == 600, "each job ran once")
        #expect(inFlight.most == 3)
        #expect(sink.deliveredIDs == Set(ids))
    }

    @Test("a running asynchronous job is cancelled through its token", arguments: StoreDriver.allCases)
    func cancelReachesASleepingJob(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "sleep", input: "x")])
        let inFlight = InFlightCounter()
        let pool = WorkerPool(
            store: test.store, handler: SleepingHandler(milliseconds: 600_000, inFlight: inFlight), sink: CollectingSink(),
            options: fastOptions(mode: .drain))
        let run = BackgroundRun(pool)
        #expect(eventually(within: 10) { inFlight.most == 1 })
        _ = try test.store.cancel(.ids(ids), now: .now)
        let summary = try #require(run.wait(seconds: 20), "the pool did not stop").get()
        #expect(summary.cancelled == 1)
        #expect(try job(test.store, ids[0]).status == .cancelled)
    }

    @Test("an asynchronous sleep ends early when the token fires or the task is cancelled")
    func asyncSleepEndsEarly() async throws {
        // A ten-minute sleep: ending in JobCancelled (a timer that ran out returns normally) is the early end.
        let token = CancellationToken()
        let sleeper = Task { try await token.sleep(milliseconds: 600_000) }
        try await Task.sleep(nanoseconds: 50_000_000)
        token.cancel()
        await #expect(throws: JobCancelled.self) { try await sleeper.value }

        let other = CancellationToken()
        let cancelledTask = Task { try await other.sleep(milliseconds: 600_000) }
        cancelledTask.cancel()
        await #expect(throws: JobCancelled.self) { try await cancelledTask.value }
        #expect(!other.isCancelled)
        // A sleep that runs its course returns normally.
        try await CancellationToken().sleep(milliseconds: 10)
    }

    @Test("the synchronous form of an asynchronous handler works from a plain thread")
    func synchronousBridge() throws {
        let handler = SleepingHandler(milliseconds: 1, inFlight: InFlightCounter())
        let job = try #require(try { () throws -> Job? in
            let test = try TestStore(.sqlite)
            defer { test.remove() }
            _ = try enqueue(test.store, [NewJob(handler: "sleep", input: "bridged")])
            return try claim(test.store, limit: 1).first
        }())
        #expect(try handler.run(job, token: CancellationToken()) == #"{"input":"bridged"}"#)
    }
}
