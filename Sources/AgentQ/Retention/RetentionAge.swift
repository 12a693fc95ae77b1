import JobQueue

/// How long something is kept: a whole number and a unit, `30m`, `12h`, `7d` (also `s`, `w`).
///
/// ```swift
/// let age = try RetentionAge(parsing: "7d", option: "--finished-before")
/// let cutoff = age.cutoff(now: .now)   // seven days ago
/// ```
public struct RetentionAge: Sendable, Hashable, CustomStringConvertible {
    public var milliseconds: Int64
    /// As the user wrote it, e.g. `7d`.
    public var text: String

    static let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000]

    /// - parameter option: what the value was given for (an option or a setting), named in the error.
    /// - throws: ``AgentQError`` `.invalidInput`: `invalid age "7x" for --finished-before: …`.
    public init(parsing text: String, option: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let unit = trimmed.last, let factor = Self.units[unit],
            let count = Int64(trimmed.dropLast()), count >= 0, !trimmed.dropLast().hasPrefix("+"),
            count <= Int64.max / factor / 2
        else {
            throw AgentQError(
                .invalidInput,
                "invalid age \(JSONText.quoted(text)) for \(option): a whole number followed by m, h or d (e.g. 30m, 12h, 7d; also s, w)")
        }
        milliseconds = count * factor
        self.text = trimmed
    }

    /// The moment `now` minus this age: what finished before it is older than the age.
    public func cutoff(now: Timestamp) -> Timestamp { now.adding(milliseconds: -milliseconds) }

    public var description: String { text }
}
