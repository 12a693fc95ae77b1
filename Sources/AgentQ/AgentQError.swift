/// An error from agentq's product layer, with a code a caller can `catch` on.
///
/// ```swift
/// catch let error as AgentQError where error.code == .unknownAgent { ... }
/// ```
public struct AgentQError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidHome = "invalid_home"
        case invalidAgent = "invalid_agent"
        case unknownAgent = "unknown_agent"
        case invalidInput = "invalid_input"
        /// A session ID or agent name that breaks ``Name``'s rule.
        case invalidName = "invalid_name"
        case notFound = "not_found"
        /// A cron expression, interval or time zone of a schedule that cannot be used.
        case invalidSchedule = "invalid_schedule"
        /// A schedule of that name exists (`schedules add --replace` replaces it).
        case alreadyExists = "already_exists"
        /// A session that ended or timed out: it takes no more turns and cannot be paused or resumed.
        case sessionClosed = "session_closed"
        case io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
