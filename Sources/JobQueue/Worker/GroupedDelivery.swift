import Foundation

/// Delivers finished jobs in groups: whoever arrives while no delivery is under way delivers
/// what has gathered, then whatever gathered meanwhile, until none is left (group commit).
///
/// A ``FinishedJobSink`` that writes durable files pays for each flush to the disk; handed a
/// group, it can flush once for all of them (``FinishedJobSink/deliver(_:)`` takes an array
/// for this). When jobs finish one at a time a group is one job and nothing waits; when a
/// thousand finish at once they go out in a few groups. Callers never wait for each other:
/// an arriving job is left to the delivery under way, and `done` is called for it from there.
///
/// ```swift
/// let groups = GroupedDelivery<JobOutcome>(sink: results)
/// groups.deliver(outcome, job: finishedJob) { outcome, delivered in commitLater(outcome, delivered) }
/// ```
public final class GroupedDelivery<Item: Sendable>: @unchecked Sendable {
    public let sink: any FinishedJobSink
    /// The most jobs handed to the sink at once.
    public let maxGroup: Int
    private let log: @Sendable (String) -> Void
    /// Called once after each group's `done` calls (a lone job is a group of one).
    private let afterGroup: @Sendable () -> Void
    private let lock = NSLock()
    private typealias Entry = (item: Item, job: Job, done: @Sendable (Item, Bool) -> Void)
    private var waiting: [Entry] = []
    private var delivering = false

    /// - parameter afterGroup: called once a group's `done` calls are over, so a caller that
    ///   wakes someone for each finished job can wake them once per group instead.
    public init(
        sink: any FinishedJobSink, maxGroup: Int = 1024, log: @escaping @Sendable (String) -> Void = { _ in },
        afterGroup: @escaping @Sendable () -> Void = {}
    ) {
        self.sink = sink
        self.maxGroup = max(1, maxGroup)
        self.log = log
        self.afterGroup = afterGroup
    }

    /// Delivers `job` with the others gathered, then calls `done` with `item` and whether its
    /// job was delivered, from the thread that delivered the group.
    /// - returns: `false` when the job was left to a delivery under way (`done` comes later,
    ///   from another thread); `true` when this call delivered it, and maybe others after it.
    @discardableResult
    public func deliver(_ item: Item, job: Job, done: @escaping @Sendable (Item, Bool) -> Void) -> Bool {
        lock.lock()
        if delivering {
            waiting.append((item, job, done))
            lock.unlock()
            return false
        }
        delivering = true
        lock.unlock()
        // Nothing under way: this job goes alone, at once, with no gathering.
        done(item, send([job]))
        afterGroup()
        lock.lock()
        while !waiting.isEmpty {
            var group: [Entry] = []
            if waiting.count <= maxGroup {
                swap(&group, &waiting)
            } else {
                group = Array(waiting.prefix(maxGroup))
                waiting.removeFirst(maxGroup)
            }
            lock.unlock()
            let delivered = send(group.map(\.job))
            for entry in group { entry.done(entry.item, delivered) }
            afterGroup()
            lock.lock()
        }
        delivering = false
        lock.unlock()
        return true
    }

    /// Hands `jobs` to the sink. - returns: whether it took them; a failure is logged.
    private func send(_ jobs: [Job]) -> Bool {
        do {
            try sink.deliver(jobs)
            return true
        } catch {
            log("could not deliver \(jobs.count) job(s), will try again after they commit: \(error)")
            return false
        }
    }
}
