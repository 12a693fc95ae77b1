import Foundation

/// A value shared between a test's threads, read and changed under its lock.
///
/// ```swift
/// let errors = SharedBox<[String]>([])
/// errors.update { $0.append("boom") }
/// #expect(errors.current.isEmpty)
/// ```
public final class SharedBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func update(_ body: (inout Value) -> Void) {
        lock.lock()
        body(&value)
        lock.unlock()
    }

    public var current: Value {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
