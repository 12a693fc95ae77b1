import Foundation

/// A value shared between threads, read and changed only under its lock.
///
/// ```swift
/// let seen = Locked(0)
/// seen.update { $0 += 1 }
/// ```
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func update<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { update { $0 } }
}
