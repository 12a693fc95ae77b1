import AgentQTesting
import Foundation
import JobQueue
import Testing

/// A wake signal inside one process: `notify` calls every listener.
final class LocalWakeSignal: WakeSignal, @unchecked Sendable {
    private let lock = NSLock()
    private var listeners: [Int: @Sendable () -> Void] = [:]
    private var next = 0

    func notify() {
        lock.lock()
        let all = Array(listeners.values)
        lock.unlock()
        for wake in all { wake() }
    }

    func listen(_ wake: @escaping @Sendable () -> Void) throws -> @Sendable () -> Void {
        lock.lock()
        defer { lock.unlock() }
        let key = next
        next += 1
        listeners[key] = wake
        return { [weak self] in
            self?.lock.lock()
            self?.listeners[key] = nil
            self?.lock.unlock()
        }
    }
}

/// A wake signal whose nudges are all lost.
struct LostWakeSignal: WakeSignal {
    func notify() {}
    func listen(_ wake: @escaping @Sendable () -> Void) throws -> @Sendable () -> Void { {} }
}

@Suite("Wake-ups")
struct WakeSignalTests {
    /// A pool on its own thread that has made its first claim (of `warmUp`) and is now idle.
    static func idlePool(
        _ test: TestStore, wake: any WakeSignal, pollMilliseconds: Int64, heartbeatMilliseconds: Int64 = 500,
        handler: ClosureHandler = ClosureHandler { _, _ in "{}" }
    ) throws -> (WorkerPool, BackgroundRun) {
        var options = WorkerOptions(
            mode: .forever, concurrency: 1, leaseMilliseconds: 3 * heartbeatMilliseconds,
            heartbeatMilliseconds: heartbeatMilliseconds, pollMilliseconds: pollMilliseconds)
        options.wake = wake
        let warmUp = try enqueue(test.store, [NewJob(handler: "h", input: "first")])
        let pool = WorkerPool(store: test.store, handler: handler, sink: CollectingSink(), options: options)
        let run = BackgroundRun(pool)
        let started = eventually(within: 10) { (try? job(test.store, warmUp[0]).status) == .succeeded }
        try #require(started, "the pool never ran its first job")
        return (pool, run)
    }

    @Test("a wake-up that is lost still leads to a pickup by the poll", arguments: StoreDriver.allCases)
    func lostWakeUp(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let (pool, run) = try Self.idlePool(test, wake: LostWakeSignal(), pollMilliseconds: 200)
        defer { pool.shutdown(graceMilliseconds: 0); _ = run.wait(seconds: 10) }
        let ids = try enqueue(try test.openAnotherStore(), [NewJob(handler: "h", input: "second")])
        #expect(eventually(within: 10) { (try? job(test.store, ids[0]).status) == .succeeded })
    }

    @Test("a wake-up from another connection's enqueue makes an idle pool claim long before its poll", arguments: StoreDriver.allCases)
    func wokenByEnqueue(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let signal = LocalWakeSignal()
        // A poll of ten minutes: only the wake-up can explain a pickup within the test.
        let (pool, run) = try Self.idlePool(test, wake: signal, pollMilliseconds: 600_000)
        defer { pool.shutdown(graceMilliseconds: 0); _ = run.wait(seconds: 10) }
        let submitter = try test.openAnotherStore(wake: signal)
        let ids = try enqueue(submitter, [NewJob(handler: "h", input: "second")])
        #expect(eventually(within: 10) { (try? job(test.store, ids[0]).status) == .succeeded })
    }

    @Test("a cancel request from another connection reaches a running job before its next heartbeat", arguments: StoreDriver.allCases)
    func wokenByCancel(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let signal = LocalWakeSignal()
        let started = Counter()
        let handler = ClosureHandler { job, token in
            guard job.input == "long" else { return "{}" }
            started.increment()
            token.wait(milliseconds: 60_000)
            throw JobCancelled(output: nil)
        }
        // Heartbeats every ten minutes: only the wake-up can bring the cancel request in time.
        let (pool, run) = try Self.idlePool(
            test, wake: signal, pollMilliseconds: 10, heartbeatMilliseconds: 600_000, handler: handler)
        defer { pool.shutdown(graceMilliseconds: 0); _ = run.wait(seconds: 10) }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "long")])
        try #require(eventually(within: 10) { started.value == 1 })
        let canceller = try test.openAnotherStore(wake: signal)
        _ = try canceller.cancel(.ids(ids), now: .now)
        #expect(eventually(within: 10) { (try? job(test.store, ids[0]).status) == .cancelled })
    }
}
