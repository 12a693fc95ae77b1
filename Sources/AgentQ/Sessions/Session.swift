import Foundation
import JobQueue

/// A session for programs that embed agentq: a conversation with one agent, with its
/// history and workspace, whose turns go through the queue like the CLI's.
///
/// ```swift
/// let queue = try AgentQueue(home: AgentQHome.resolve(explicit: nil))
/// let session = try Session(agent: "echo", queue: queue)
/// let result = try await session.run("hello")          // TurnResult
/// for try await event in session.runStream("and again") {
///     if case .textDelta(let text) = event { print(text, terminator: "") }
/// }
/// ```
public final class Session: Sendable {
    public let id: String
    public let queue: AgentQueue

    /// Creates a new session.
    /// - throws: ``AgentQError`` when the agent does not exist or the workspace cannot be made.
    public init(agent: String, workDir: URL? = nil, title: String? = nil, queue: AgentQueue) throws {
        self.queue = queue
        id = try SessionManager(queue: queue).create(agent: agent, workdir: workDir?.path, title: title).id
    }

    /// Opens an existing session by ID or unique prefix.
    /// - throws: ``AgentQError`` `.notFound` or `.invalidInput` (ambiguous).
    public init(resuming idOrPrefix: String, queue: AgentQueue) throws {
        self.queue = queue
        id = try SessionManager(queue: queue).resolve(idOrPrefix).id
    }

    /// The session as stored now.
    public func record() throws -> SessionRecord { try SessionManager(queue: queue).resolve(id) }

    /// The whole transcript, tool calls and results included.
    public func messages() throws -> [SessionMessage] { try queue.sessions.messages(sessionID: id, last: nil) }

    /// Sends a message and waits for the turn's result.
    ///
    /// Cancelling the calling task cancels the turn's job, as `agentq jobs cancel` does.
    /// - throws: ``SessionTurnError`` when the turn failed, was cancelled, or waits on a paused
    ///   session; `CancellationError` when the calling task was cancelled.
    public func run(_ message: String) async throws -> TurnResult {
        var final: TurnResult?
        for try await event in runStream(message) {
            if case .done(let result) = event { final = result }
        }
        // A cancelled task ends the stream early, without a result: say why.
        try Task.checkCancellation()
        guard let final else { throw SessionTurnError(type: "no_result", message: "the turn ended without a result", jobID: nil) }
        return final
    }

    /// Sends a message and yields the turn's events as they happen: text, tool calls, steps,
    /// then `.done` with the result (or an error thrown by the sequence).
    ///
    /// Cancelling the task that reads the stream, or dropping the stream, cancels the turn's
    /// job, as `agentq jobs cancel` does: a turn nobody listens to stops spending.
    public func runStream(_ message: String) -> AsyncThrowingStream<TurnEvent, any Error> {
        AsyncThrowingStream { continuation in
            let queue = self.queue, sessionID = self.id
            // The turn's job once it exists, and whether the reader has gone.
            let state = Locked<(jobID: String?, stopped: Bool)>((nil, false))
            continuation.onTermination = { termination in
                guard case .cancelled = termination else { return }
                let jobID = state.update { state -> String? in
                    state.stopped = true
                    return state.jobID
                }
                if let jobID { _ = try? queue.cancel(.ids([jobID])) }
            }
            let thread = Thread {
                do {
                    let manager = SessionManager(queue: queue)
                    // Listen before the job exists in the queue, so no event is missed.
                    let jobID = try manager.send(message, to: sessionID, observing: { event in
                        if case .done = event { return }
                        if case .error = event { return }
                        continuation.yield(event)
                    })
                    defer { TurnObservers.shared.stopObserving(jobID: jobID) }
                    // The reader may have gone before the job existed: cancel it now, then.
                    let stoppedEarly = state.update { state -> Bool in
                        state.jobID = jobID
                        return state.stopped
                    }
                    if stoppedEarly { _ = try queue.cancel(.ids([jobID])) }
                    let job = try TurnDriver(queue: queue).runUntilFinished(jobID: jobID, sessionID: sessionID)
                    switch job.status {
                    case .succeeded:
                        continuation.yield(.done(TurnResult(jsonText: job.output ?? "{}") ?? TurnResult(response: nil)))
                        continuation.finish()
                    case .queued, .running:
                        continuation.finish(throwing: SessionTurnError(
                            type: "paused", message: "the session is paused; the turn waits in the queue", jobID: jobID))
                    case .failed, .cancelled:
                        continuation.finish(throwing: SessionTurnError(
                            type: job.error?.type ?? job.status.rawValue, message: job.error?.message ?? job.status.rawValue,
                            jobID: jobID))
                    }
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.start()
        }
    }
}

/// A turn that did not succeed.
public struct SessionTurnError: Error, Sendable, CustomStringConvertible {
    public var type: String
    public var message: String
    public var jobID: String?
    public var description: String { "\(type): \(message)" }
}
