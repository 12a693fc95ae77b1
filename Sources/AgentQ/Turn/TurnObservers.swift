import Foundation

/// In-process listeners for the events of turns run in this process, by job ID.
///
/// `Session.runStream` registers before it enqueues its turn; the ``TurnRunner`` that runs
/// the job here reports to it as the turn goes.
public final class TurnObservers: @unchecked Sendable {
    public static let shared = TurnObservers()

    private let lock = NSLock()
    private var handlers: [String: @Sendable (TurnEvent) -> Void] = [:]

    public init() {}

    public func observe(jobID: String, _ handler: @escaping @Sendable (TurnEvent) -> Void) {
        lock.lock()
        handlers[jobID] = handler
        lock.unlock()
    }

    public func stopObserving(jobID: String) {
        lock.lock()
        handlers[jobID] = nil
        lock.unlock()
    }

    func emit(_ event: TurnEvent, jobID: String) {
        lock.lock()
        let handler = handlers[jobID]
        lock.unlock()
        handler?(event)
    }
}
