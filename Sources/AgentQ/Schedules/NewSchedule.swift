import Foundation

/// A schedule to add: ``Schedule`` without its state.
///
/// ```swift
/// let new = NewSchedule(name: "standup", spec: .cron(try CronExpression("30 8 * * mon-fri")),
///                       timeZone: "Europe/Berlin", prompts: .input("What changed?"), session: "standup")
/// ```
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
