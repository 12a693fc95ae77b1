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

    /// Sleeps for `milliseconds` unless the token fires first, holding no thread meanwhile.
    /// - throws: ``JobCancelled`` when the token fired or the task was cancelled.
    public func sleep(milliseconds: Int64) async throws {
        if isCancelled { throw JobCancelled() }
        let sleeper = TimerSleeper()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                sleeper.start(continuation, token: self, milliseconds: milliseconds)
            }
        } onCancel: {
            sleeper.finish(.failure(JobCancelled()))
        }
    }
}

/// One asynchronous sleep: a Dispatch timer, the token's callback and the task's cancellation
/// race to resume the continuation; the first wins, the others find it done.
private final class TimerSleeper: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Void, any Error>?
    private var early: Result<Void, any Error>?
    private var finished = false
    private var timer: (any DispatchSourceTimer)?
    private var token: CancellationToken?
    private var callbackKey: Int?

    func start(_ continuation: CheckedContinuation<Void, any Error>, token: CancellationToken, milliseconds: Int64) {
        lock.lock()
        if let early {
            // The task was cancelled before the sleep began.
            finished = true
            lock.unlock()
            continuation.resume(with: early)
            return
        }
        self.continuation = continuation
        self.token = token
        let timer = DispatchSource.makeTimerSource(queue: .global())
        self.timer = timer
        lock.unlock()
        timer.setEventHandler { [self] in finish(.success(())) }
        timer.schedule(deadline: .now() + .milliseconds(Int(clamping: max(0, milliseconds))))
        let key = token.onCancel { [self] _ in finish(.failure(JobCancelled())) }
        lock.lock()
        callbackKey = key
        lock.unlock()
        timer.resume()
    }

    func finish(_ result: Result<Void, any Error>) {
        lock.lock()
        guard !finished else {
            lock.unlock()
            return
        }
        guard let continuation else {
            early = result
            lock.unlock()
            return
        }
        finished = true
        let timer = self.timer, token = self.token, key = callbackKey
        self.continuation = nil
        lock.unlock()
        timer?.cancel()
        if let key { token?.removeCallback(key) }
        continuation.resume(with: result)
    }
}
