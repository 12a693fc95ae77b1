import AgentQ
import Foundation
import JobQueue

/// One request waiting on one turn: the stream of its ``TurnUpdate``s, fed by the in-process
/// observer (live events) and by the ``TurnWatcher`` (the job's state, stored events).
///
/// ```swift
/// let wait = watcher.makeWait(sessionID: id, followsStore: true, afterSeq: lastSeq)
/// let jobID = try manager.send(text, to: id, observing: wait.observer)
/// watcher.watch(wait, jobID: jobID)
/// for await update in wait.updates { … }
/// ```
final class TurnWait: @unchecked Sendable {
    let sessionID: String
    /// Whether a turn run by another process is followed through its stored messages (the
    /// stream endpoint); the blocking endpoint needs only the job's end.
    let followsStore: Bool
    let updates: AsyncStream<TurnUpdate>
    private let continuation: AsyncStream<TurnUpdate>.Continuation
    private let nudge: @Sendable () -> Void
    private let lock = NSLock()
    private var observedHere = false
    /// Tool calls and results already sent live, so an attempt read back from the store after
    /// an attempt here (a retry another process took) does not repeat them.
    private var liveCalls: Set<String> = []
    private var liveResults: Set<String> = []

    // Touched only by the watcher's loop, one poll at a time.
    var lastSeq: Int
    var stored = StoredTurnEvents()
    var polls = 0
    var reportedPause = false

    init(sessionID: String, followsStore: Bool, afterSeq: Int, nudge: @escaping @Sendable () -> Void) {
        self.sessionID = sessionID
        self.followsStore = followsStore
        lastSeq = afterSeq
        self.nudge = nudge
        (updates, continuation) = AsyncStream.makeStream(of: TurnUpdate.self, bufferingPolicy: .unbounded)
    }

    /// Whether this process's worker reported any event of the turn (so it ran here).
    var observed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return observedHere
    }

    /// The observer registered with ``SessionManager/send(_:to:observing:)``; called on the worker's thread.
    var observer: @Sendable (TurnEvent) -> Void {
        { [self] event in
            lock.lock()
            observedHere = true
            if case .toolCallStarted(let call) = event { liveCalls.insert(call.id) }
            if case .toolCallFinished(let record) = event { liveResults.insert(record.id) }
            lock.unlock()
            switch event {
            case .done:
                // The result is read from the job once the store has it: look now.
                nudge()
            case .error(let type, let message):
                continuation.yield(.attemptFailed(type: type, message: message))
                nudge()
            case .stepFinished:
                break
            default:
                continuation.yield(.event(event))
            }
        }
    }

    /// Whether this event, read back from the store, was already sent live.
    func wasSentLive(_ event: TurnEvent) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .toolCallStarted(let call): return liveCalls.contains(call.id)
        case .toolCallFinished(let record): return liveResults.contains(record.id)
        default: return false
        }
    }

    func yield(_ update: TurnUpdate) { continuation.yield(update) }

    /// Ends the stream of updates (the turn ended, or the server stops).
    func finish() { continuation.finish() }
}
