import AgentQ
import JobQueue

/// What a request waiting on a turn hears, in order: events as the turn goes, then its end.
enum TurnUpdate: Sendable {
    /// An event of the turn: live from this process's worker, or read back from the store
    /// when another process runs it.
    case event(TurnEvent)
    /// An attempt failed in this process; the job may be retried (then its streamed text is
    /// void) or have failed for good (then `finished` follows).
    case attemptFailed(type: String, message: String)
    /// The turn waits in the queue of a paused session.
    case paused(Job)
    /// The job finished: succeeded, failed or cancelled.
    case finished(Job)
    /// The job is gone from the store (pruned or never committed).
    case vanished
    /// Time for a `: ping` if nothing was written lately.
    case tick
}
