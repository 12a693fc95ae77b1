import Foundation

/// Runs a piece of a worker's maintenance on a thread of its own, one run at a time: asked
/// again while a run is still going, it does nothing. Work that may wait on a locked database
/// (its retries last up to three busy timeouts) must never hold up the worker's heartbeats.
///
/// ```swift
/// let pass = BackgroundPass()
/// options.maintenance = { pass.startUnlessRunning { try? schedules.fireDue(now: .now) } }
/// ```
final class BackgroundPass: Sendable {
    private let running = Locked(false)

    /// Starts `body` on a new thread unless the previous run has not finished.
    func startUnlessRunning(_ body: @escaping @Sendable () -> Void) {
        guard running.update({ busy in
            if busy { return false }
            busy = true
            return true
        }) else { return }
        Thread.detachNewThread { [self] in
            defer { running.update { $0 = false } }
            body()
        }
    }
}
