import Foundation
import JobQueue

/// A clock that moves only when told to, for testing leases and backoff without sleeping.
///
/// ```swift
/// let clock = ManualTimeSource(start: Timestamp(milliseconds: 1_000_000))
/// clock.advance(milliseconds: 31_000)
/// ```
public final class ManualTimeSource: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Timestamp

    public init(start: Timestamp = .now) { current = start }

    public func now() -> Timestamp {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func advance(milliseconds: Int64) {
        lock.lock()
        current = current.adding(milliseconds: milliseconds)
        lock.unlock()
    }
}
