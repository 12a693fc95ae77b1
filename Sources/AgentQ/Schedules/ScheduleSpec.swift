import Foundation
import JobQueue

/// When a schedule fires: on a cron expression's ticks, or at a fixed interval.
///
/// ```swift
/// let spec = try ScheduleSpec(kind: "cron", text: "0 9 * * mon-fri")
/// let next = spec.nextTick(after: .now, due: nil, in: .current)
/// ```
public enum ScheduleSpec: Sendable, Hashable, CustomStringConvertible {
    case cron(CronExpression)
    case every(Every)

    /// Rebuilds a spec from its ``kind`` and ``text``.
    /// - throws: ``AgentQError`` `.invalidSchedule`.
    public init(kind: String, text: String) throws {
        switch kind {
        case "cron": self = .cron(try CronExpression(text))
        case "every": self = .every(try Every(text))
        default: throw AgentQError(.invalidSchedule, "unknown schedule kind \(Name.quoted(kind))")
        }
    }

    /// `cron` or `every`.
    public var kind: String {
        switch self {
        case .cron: return "cron"
        case .every: return "every"
        }
    }

    /// The expression or interval as written.
    public var text: String {
        switch self {
        case .cron(let cron): return cron.text
        case .every(let every): return every.text
        }
    }

    /// `cron "0 9 * * *"` or `every 5m`.
    public var description: String {
        switch self {
        case .cron(let cron): return "cron \"\(cron.text)\""
        case .every(let every): return "every \(every.text)"
        }
    }

    /// The first tick strictly after `now`.
    ///
    /// Ticks missed while nothing ran collapse into the one being fired: the next is always
    /// after `now`, never a backlog. An interval keeps its phase: with `due` (the tick being
    /// fired), the ticks are `due + k × interval`; without, the first is `now + interval`.
    public func nextTick(after now: Timestamp, due: Timestamp?, in timeZone: TimeZone) -> Timestamp {
        switch self {
        case .cron(let cron):
            return Timestamp(date: cron.next(after: now.date, in: timeZone))
        case .every(let every):
            guard let due, due <= now else { return now.adding(milliseconds: every.milliseconds) }
            let elapsed = now.milliseconds - due.milliseconds
            return due.adding(milliseconds: (elapsed / every.milliseconds + 1) * every.milliseconds)
        }
    }
}
