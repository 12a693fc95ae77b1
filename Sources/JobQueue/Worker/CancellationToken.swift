import Foundation

/// Why a running job was asked to stop.
public enum CancellationReason: String, Sendable {
    /// Someone cancelled the job (`agentq jobs cancel`, by batch or by lane).
    case requested
    /// The worker is shutting down; the job goes back to the queue.
    case shutdown
    /// Another worker took the job over after this worker's lease expired.
    case leaseLost
}

/// Fires once to tell a running job to stop, from any thread.
///
/// Handlers poll ``isCancelled``, sleep with ``sleep(milliseconds:)`` (which wakes early when
/// the token fires) or register ``onCancel(_:)`` to abort blocking work such as a child
/// process or an HTTP request.
///
/// ```swift
/// try token.sleep(milliseconds: 500)          // throws JobCancelled when cancelled
/// let handle = token.onCancel { process.terminate() }
/// ```
public final class CancellationToken: @unchecked Sendable {
    private let condition = NSCondition()
    private var firedReason: CancellationReason?
    private var callbacks: [Int: @Sendable (CancellationReason) -> Void] = [:]
    private var nextCallbackID = 0

    public init() {}

    public var isCancelled: Bool { reason != nil }

    public var reason: CancellationReason? {
        condition.lock()
        defer { condition.unlock() }
        return firedReason
    }

    /// Fires the token. Only the first call has an effect.
    public func cancel(_ reason: CancellationReason = .requested) {
        condition.lock()
        guard firedReason == nil else {
            condition.unlock()
            return
        }
        firedReason = reason
        let toCall = callbacks.values
        callbacks.removeAll()
        condition.broadcast()
        condition.unlock()
        for callback in toCall { callback(reason) }
    }

    /// Runs `callback` when the token fires (at once if it already has).
    /// - returns: a key for ``removeCallback(_:)``.
    @discardableResult
    public func onCancel(_ callback: @escaping @Sendable (CancellationReason) -> Void) -> Int {
        condition.lock()
        if let reason = firedReason {
            condition.unlock()
            callback(reason)
            return -1
        }
        let key = nextCallbackID
        nextCallbackID += 1
        callbacks[key] = callback
        condition.unlock()
        return key
    }

    public func removeCallback(_ key: Int) {
        condition.lock()
        callbacks[key] = nil
        condition.unlock()
    }

    /// Throws ``JobCancelled`` if the token has fired.
    /// - throws: ``JobCancelled``.
    public func checkCancelled() throws {
        if isCancelled { throw JobCancelled() }
    }

    /// Waits up to `milliseconds`, returning early when the token fires.
    /// - returns: `true` if the token fired.
    @discardableResult
    public func wait(milliseconds: Int64) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Double(milliseconds) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while firedReason == nil {
            if !condition.wait(until: deadline) { break }
        }
        return firedReason != nil
    }

    /// Sleeps for `milliseconds` unless the token fires first.
    /// - throws: ``JobCancelled`` when the token fired.
    public func sleep(milliseconds: Int64) throws {
        if wait(milliseconds: milliseconds) { throw JobCancelled() }
    }
}
