import Dispatch
import Foundation

/// Notices streams that went silent: one Dispatch timer checks every stream under way in the
/// process, five times a second, and calls a stream's `onStall` once it has received nothing
/// for its idle time.
///
/// One timer, not one per stream: at `--concurrency 1024` a timer per stream fired 5,000 times a
/// second, each a thread woken for nothing (about a tenth of the worker's CPU and a third of its
/// context switches, measured against a one-second stub). A Dispatch timer, not a sleeping task:
/// when the cooperative threads are busy (many streams, a slow event handler), a sleeping task
/// may wake seconds late, and a stalled stream would hold its job that much longer.
///
/// ```swift
/// let activity = StreamWatchdog.Activity()
/// let key = StreamWatchdog.shared.watch(activity, idleSeconds: 60) { reader.cancel() }
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
    /// untouched for `idleSeconds`, and the stream is then no longer watched.
    /// - returns: the key that ``unwatch(_:)`` takes.
    func watch(_ activity: Activity, idleSeconds: Double, onStall: @escaping @Sendable () -> Void) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextKey += 1
        // Any number an agent may give (validation only asks for more than 0): a billion
        // seconds or more is "never".
        let idle = idleSeconds < 1e9 ? UInt64(max(0, idleSeconds) * 1e9) : UInt64.max
        watched[nextKey] = Watched(activity: activity, idleNanoseconds: idle, onStall: onStall)
        if timer == nil {
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now() + interval, repeating: interval)
            timer.setEventHandler { [weak self] in self?.check() }
            timer.resume()
            self.timer = timer
        }
        return nextKey
    }

    /// Stops watching the stream `key` names (its stream ended, or failed).
    func unwatch(_ key: Int) {
        lock.lock()
        watched[key] = nil
        lock.unlock()
    }

    /// Hands every stream silent for its idle time to its `onStall`, outside the lock.
    private func check() {
        let now = DispatchTime.now().uptimeNanoseconds
        var stalled: [@Sendable () -> Void] = []
        lock.lock()
        for (key, stream) in watched {
            let last = stream.activity.lastNanoseconds
            if now > last, now - last > stream.idleNanoseconds {
                stalled.append(stream.onStall)
                watched[key] = nil
            }
        }
        if watched.isEmpty {
            timer?.cancel()
            timer = nil
        }
        lock.unlock()
        for onStall in stalled { onStall() }
    }
}
