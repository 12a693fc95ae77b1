import Foundation
import JobQueue

/// A stored schedule: what it runs, when, and what it last did.
///
/// ```swift
/// let schedule = try queue.schedules.schedule(named: "nightly")
/// print(schedule?.nextRunAt.iso8601 ?? "no such schedule")
/// ```
public struct Schedule: Sendable, Hashable {
    public var name: String
    public var spec: ScheduleSpec
    /// The time zone identifier cron expressions are evaluated in (`Europe/Berlin`).
    public var timeZone: String
    public var prompts: SchedulePrompts
    public var agent: String
    /// Every fire is a turn of this session, when set (lines of a file may name their own).
    public var session: String?
    public var priority: Int
    public var maxAttempts: Int
    public var overlap: OverlapPolicy
    public var paused: Bool
    /// The tick that fires next; a paused schedule keeps it until it is resumed.
    public var nextRunAt: Timestamp
    public var lastRunAt: Timestamp?
    public var lastBatchID: String?
    public var createdAt: Timestamp

    /// The batch source of this schedule's fires: `schedule:NAME`.
    public var batchSource: String { Self.batchSource(name) }

    public static func batchSource(_ name: String) -> String { "schedule:\(name)" }
}

/// What a schedule submits each time it fires, stored when it is added.
public enum SchedulePrompts: Sendable, Hashable {
    /// One job with this input.
    case input(String)
    /// A bulk prompt file's content, as it was when the schedule was added; `file` is its name,
    /// for messages.
    case file(name: String, content: String)
}

/// Whether a tick fires while the previous fire's batch still has unfinished jobs.
public enum OverlapPolicy: String, Sendable, Hashable, CaseIterable {
    /// Skip the tick (the default): a slow run never piles up behind itself.
    case skip
    /// Fire anyway.
    case allow
}

/// A schedule to add: ``Schedule`` without its state.
public struct NewSchedule: Sendable, Hashable {
    public var name: String
    public var spec: ScheduleSpec
    public var timeZone: String
    public var prompts: SchedulePrompts
    public var agent: String
    public var session: String?
    public var priority: Int
    public var maxAttempts: Int
    public var overlap: OverlapPolicy

    public init(
        name: String, spec: ScheduleSpec, timeZone: String = TimeZone.current.identifier, prompts: SchedulePrompts,
        agent: String = "echo", session: String? = nil, priority: Int = 0, maxAttempts: Int = 3,
        overlap: OverlapPolicy = .skip
    ) {
        self.name = name
        self.spec = spec
        self.timeZone = timeZone
        self.prompts = prompts
        self.agent = agent
        self.session = session
        self.priority = priority
        self.maxAttempts = maxAttempts
        self.overlap = overlap
    }
}

/// One tick of a schedule, and what became of it.
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
