/// A fixed interval between runs: `30s`, `5m`, `2h`, `1d` (a whole number and one unit).
///
/// Intervals are elapsed time, not wall-clock time: `1d` is always 24 hours, across
/// daylight-saving changes too (use `--cron` for "every day at 09:00").
///
/// ```swift
/// let every = try Every("5m")   // every.milliseconds == 300_000
/// ```
/// - throws: ``AgentQError`` `.invalidSchedule`: `--every "90x": use a whole number and s, m, h or d (30s, 5m, 2h, 1d)`.
public struct Every: Sendable, Hashable, CustomStringConvertible {
    /// The interval as written.
    public let text: String
    public let milliseconds: Int64

    /// The shortest interval: a worker's maintenance pass, which fires schedules, runs every 1-5 s.
    public static let minimumMilliseconds: Int64 = 1000
    /// The longest: a year.
    public static let maximumMilliseconds: Int64 = 366 * 86_400_000

    public var description: String { text }

    /// Parses `text`.
    /// - throws: ``AgentQError`` `.invalidSchedule` saying what is allowed.
    public init(_ text: String) throws {
        self.text = text
        let unitSeconds: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last, let seconds = unitSeconds[unit],
            let count = Int64(text.dropLast()), text.dropLast().allSatisfy(\.isASCII), count >= 1,
            count <= Self.maximumMilliseconds / 1000 / seconds
        else {
            throw AgentQError(
                .invalidSchedule,
                "--every \(Name.quoted(text)): use a whole number from 1 and s, m, h or d (30s, 5m, 2h, 1d), at most a year")
        }
        milliseconds = count * seconds * 1000
    }
}
