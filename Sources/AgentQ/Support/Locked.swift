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

extension Locked {
    /// The value stored under `key`, made by `make` and stored the first time: a per-key registry.
    ///
    /// ```swift
    /// let gates = Locked<[String: RateLimitGate]>([:])
    /// let gate = gates.value(for: "https://api.openai.com/v1") { RateLimitGate() }
    /// ```
    func value<Key: Hashable, Element>(for key: Key, orMake make: () -> Element) -> Element where Value == [Key: Element] {
        value(for: key, limit: .max, orMake: make)
    }
}

extension Locked {
    /// Like ``value(for:orMake:)``, for a memo of values derived from keys that may come from
    /// users: past `limit` keys the memo starts over, so it never grows without bound.
    ///
    /// ```swift
    /// let hosts = Locked<[String: String]>([:])
    /// let host = hosts.value(for: url, limit: 256) { URLComponents(string: url)?.host ?? "" }
    /// ```
    func value<Key: Hashable, Element>(for key: Key, limit: Int, orMake make: () -> Element) -> Element
    where Value == [Key: Element] {
        update { all in
            if let existing = all[key] { return existing }
            if all.count >= limit { all.removeAll() }
            let made = make()
            all[key] = made
            return made
        }
    }
}
