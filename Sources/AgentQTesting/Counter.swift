import Foundation

/// A count several threads add to.
///
/// ```swift
/// let runs = Counter()
/// DispatchQueue.concurrentPerform(iterations: 8) { _ in runs.increment() }
/// #expect(runs.value == 8)
/// ```
public final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0

    public init() {}

    public func increment() { add(1) }

    public func add(_ count: Int) {
        lock.lock()
        total += count
        lock.unlock()
    }

    public var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return total
    }
}
