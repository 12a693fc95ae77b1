import Foundation
import JobQueue

/// A stored schedule: what it runs (its ``NewSchedule`` definition, whose fields read
/// through: `schedule.agent`), when it fires next, and what it last did.
///
/// ```swift
/// let schedule = try queue.schedules.schedule(named: "nightly")
/// print(schedule?.nextRunAt.iso8601 ?? "no such schedule", schedule?.spec.description ?? "")
/// ```
@dynamicMemberLookup
public struct Schedule: Sendable, Hashable {
    /// What `schedules add` was given (the time zone is the one resolved then).
    public var definition: NewSchedule
    public var paused: Bool
    /// The tick that fires next; a paused schedule keeps it until it is resumed.
    public var nextRunAt: Timestamp
    public var lastRunAt: Timestamp?
    public var lastBatchID: String?
    public var createdAt: Timestamp

    public subscript<Value>(dynamicMember field: KeyPath<NewSchedule, Value>) -> Value { definition[keyPath: field] }

    /// The batch source of this schedule's fires: `schedule:NAME`.
    public var batchSource: String { Self.batchSource(definition.name) }

    public static func batchSource(_ name: String) -> String { "schedule:\(name)" }
}
