import Dispatch
import Foundation

/// Notices streams that went silent or ran past their deadline: one Dispatch timer checks
/// every stream under way in the process, five times a second, and calls a stream's `onStall`
/// once it has received nothing for its idle time, or once its deadline has passed (a stream
/// that trickles forever, a byte at a time, is never silent).
///
/// One timer, not one per stream: at `--concurrency 1024` a timer per stream fired 5,000 times a
/// second, each a thread woken for nothing (about a tenth of the worker's CPU and a third of its
/// context switches, measured against a one-second stub). A Dispatch timer, not a sleeping task:
/// when the cooperative threads are busy (many streams, a slow event handler), a sleeping task
/// may wake seconds late, and a stalled stream would hold its job that much longer.
///
/// ```swift
/// let activity = StreamWatchdog.Activity()
/// let key = StreamWatchdog.shared.watch(activity, idleSeconds: 60, deadlineSeconds: 600) { task.cancel() }
/// defer { StreamWatchdog.shared.unwatch(key) }
/// for try await chunk in body { activity.touch(); … }
/// ```
final class StreamWatchdog: @unchecked Sendable {
    /// The process's watchdog.
    static let shared = StreamWatchdog(interval: .milliseconds(200))

    /// When a stream last received bytes.
    final class Activity: @unchecked Sendable {
        private let lock = NSLock()
        private var last = DispatchTime.now().uptimeNanoseconds

        init() {}

        /// Bytes arrived now.
        func touch() {
            let now = DispatchTime.now().uptimeNanoseconds
            lock.lock()
            last = now
            lock.unlock()
        }

        fileprivate var lastNanoseconds: UInt64 {
            lock.lock()
            defer { lock.unlock() }
            return last
        }
    }

    private struct Watched {
        let activity: Activity
        let idleNanoseconds: UInt64
        let deadline: UInt64
        let onStall: @Sendable () -> Void
    }

    private let interval: DispatchTimeInterval
    private let lock = NSLock()
    private var watched: [Int: Watched] = [:]
    private var nextKey = 0
    /// Runs while anything is watched.
    private var timer: (any DispatchSourceTimer)?

    init(interval: DispatchTimeInterval) {
        self.interval = interval
    }

    /// Starts watching `activity`; `onStall` is called once (on a Dispatch queue) if it stays
    /// untouched for `idleSeconds` or is still watched `deadlineSeconds` from now, and the
    /// stream is then no longer watched.
    /// - returns: the key that ``unwatch(_:)`` takes.
    func watch(
        _ activity: Activity, idleSeconds: Double, deadlineSeconds: Double = .infinity,
        onStall: @escaping @Sendable () -> Void
    ) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextKey += 1
        let now = DispatchTime.now().uptimeNanoseconds
        let deadline = Self.nanoseconds(deadlineSeconds)
        watched[nextKey] = Watched(
            activity: activity, idleNanoseconds: Self.nanoseconds(idleSeconds),
            deadline: deadline == .max ? .max : now + deadline, onStall: onStall)
        if timer == nil {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in self?.check() }
            timer.resume()
            self.timer = timer
        }
        return nextKey
    }

    /// Any number an agent may give (validation only asks for more than 0): a billion seconds
    /// or more is "never".
    private static func nanoseconds(_ seconds: Double) -> UInt64 {
        seconds < 1e9 ? UInt64(max(0, seconds) * 1e9) : .max
    }

    /// Stops watching the stream `key` names (its stream ended, or failed).
    func unwatch(_ key: Int) {
        lock.lock()
        watched[key] = nil
        lock.unlock()
    }

    /// Hands every stream silent for its idle time, or past its deadline, to its `onStall`,
    /// outside the lock.
    private func check() {
        let now = DispatchTime.now().uptimeNanoseconds
        var stalled: [@Sendable () -> Void] = []
        lock.lock()
        for (key, stream) in watched {
            let last = stream.activity.lastNanoseconds
            let silent = now > last && now - last > stream.idleNanoseconds
            guard silent || now >= stream.deadline else { continue }
            stalled.append(stream.onStall)
            watched[key] = nil
        }
        if watched.isEmpty {
            timer?.cancel()
            timer = nil
        }
        lock.unlock()
        for onStall in stalled { onStall() }
    }
}
