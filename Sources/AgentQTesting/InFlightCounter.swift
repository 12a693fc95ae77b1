import Foundation

/// Counts work in flight from any thread: how much is open now, the most that ever was, and
/// how much finished.
///
/// ```swift
/// let counter = InFlightCounter()
/// counter.enter(); defer { counter.leave() }
/// #expect(counter.most == 1500)
/// ```
public final class InFlightCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var open = 0
    private var mostOpen = 0
    private var left = 0

    public init() {}

    public func enter() {
        lock.lock()
        open += 1
        mostOpen = max(mostOpen, open)
        lock.unlock()
    }

    public func leave() {
        lock.lock()
        open -= 1
        left += 1
        lock.unlock()
    }

    /// The most that were in flight at once.
    public var most: Int {
        lock.lock()
        defer { lock.unlock() }
        return mostOpen
    }

    /// How many have left.
    public var finished: Int {
        lock.lock()
        defer { lock.unlock() }
        return left
    }
}
