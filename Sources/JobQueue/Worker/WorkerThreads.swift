import Dispatch
import Foundation

/// A fixed set of Dispatch threads that run asynchronous jobs: their tasks (as a task
/// executor) and the blocking parts of their work.
///
/// An ``AsyncJobHandler`` holds no thread while it waits (on a model, a timer); what must block
/// (a database write, a tool's child process, an fsync) it hands here with ``perform(_:)``.
/// A few threads then serve thousands of jobs in flight: the number of threads bounds the
/// work done at once, not the jobs running. The jobs' tasks prefer these threads as their
/// executor, so they never wait for Swift's cooperative threads, which a program may be
/// blocking (a synchronous `pool.run()` called from async code, a busy server).
///
/// ```swift
/// let threads = WorkerThreads(count: 8)
/// let rows = try await threads.perform { try store.messages(sessionID: id, last: nil) }
/// threads.stop()
/// ```
public final class WorkerThreads: TaskExecutor, @unchecked Sendable {
    /// How many threads run the work.
    public let count: Int
    private let condition = NSCondition()
    private var items: [@Sendable () -> Void] = []
    private var head = 0
    private var stopping = false
    private var running: Int
    /// Threads waiting for work, and wake-ups sent to them not yet taken: work is only
    /// signalled for when no thread already awake will take it. Waking a sleeping thread for
    /// every item (a context switch each, several per job) cost more than the jobs' own work.
    private var idle = 0
    private var wakeups = 0

    /// Threads for callers that have none of their own (the synchronous bridge of an ``AsyncJobHandler``).
    public static let shared = WorkerThreads(count: 4, label: "agentq.shared-worker")

    /// Starts `count` threads (at least one).
    public init(count: Int, label: String = "agentq.worker") {
        self.count = max(1, count)
        running = self.count
        for index in 0..<self.count {
            let queue = DispatchQueue(label: "\(label).\(index)")
            queue.setSpecific(key: Self.ownerKey, value: ObjectIdentifier(self))
            queue.async { self.loop() }
        }
    }

    private static let ownerKey = DispatchSpecificKey<ObjectIdentifier>()

    /// Whether the calling thread is one of these threads: blocking work can then run where it
    /// is, instead of being queued behind everything else and waking another thread for it.
    public var isCurrent: Bool { DispatchQueue.getSpecific(key: Self.ownerKey) == ObjectIdentifier(self) }

    /// Queues `work` to run on one of the threads, in submission order.
    public func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        guard running > 0 else {
            // Every thread has ended (after ``stop()``): the work runs on the caller's thread.
            condition.unlock()
            work()
            return
        }
        items.append(work)
        if wakeups < idle && wakeups < items.count - head {
            wakeups += 1
            condition.signal()
        }
        condition.unlock()
    }

    /// Runs a job of a task that prefers these threads.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        submit { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    /// Runs `body` on one of the threads and returns what it returned, without holding the
    /// caller's thread meanwhile.
    /// - throws: whatever `body` throws.
    public func perform<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        // A job's task already runs on these threads (they are its executor): blocking one of
        // them here is what a hop would do, without the queueing and the wake-up.
        if isCurrent { return try body() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Lets the threads finish the work already queued, then end. Work submitted after they ended runs on
    /// the submitting thread.
    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while true {
            while head == items.count && !stopping {
                idle += 1
                condition.wait()
                idle -= 1
                if wakeups > 0 { wakeups -= 1 }
            }
            if head == items.count { break }
            let work = items[head]
            head += 1
            if head == items.count {
                items.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            work()
            condition.lock()
        }
        running -= 1
        let last = running == 0
        let leftover = last ? Array(items[head...]) : []
        condition.unlock()
        // Work that arrived as the last thread left still runs (a late completion must not be lost).
        for work in leftover { work() }
    }
}

extension WorkerThreads {
    /// Runs asynchronous work from a thread that may block, and waits for it: the bridge for
    /// synchronous callers of asynchronous code. Never call it from a task (it would hold
    /// one of Swift's few cooperative threads while the work needs one).
    ///
    /// ```swift
    /// let answer = try WorkerThreads.block { try await provider.respond(to: request, token: token, threads: .shared) }
    /// ```
    /// - throws: whatever `operation` throws.
    public static func block<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
        let outcome = BlockedOutcome<T>()
        let done = DispatchSemaphore(value: 0)
        Task(executorPreference: WorkerThreads.shared) {
            do {
                outcome.result = .success(try await operation())
            } catch {
                outcome.result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try outcome.result!.get()
    }
}

/// Carries a task's result to the thread waiting on the semaphore (the semaphore orders the accesses).
private final class BlockedOutcome<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
