import JobQueue

/// One tick of a schedule, and what became of it.
///
/// ```swift
/// for run in try queue.schedules.runs(of: "nightly", limit: 10) { print(run.outcome, run.batchID ?? "-") }
/// ```
public struct ScheduleRun: Sendable, Hashable {
    public enum Outcome: String, Sendable {
        /// The tick fired a batch.
        case fired
        /// `schedules run NAME`: fired by hand, outside the ticks.
        case manual
        /// Skipped: the previous fire's batch was unfinished (overlap `skip`).
        case skipped
        /// The prompts could not become jobs (their agent was removed since); see ``message``.
        case failed
    }

    public var name: String
    /// The tick's time; nil for a manual run.
    public var tickAt: Timestamp?
    public var batchID: String?
    public var outcome: Outcome
    public var message: String?
    /// When it happened.
    public var at: Timestamp
}
