import Foundation

/// A standard 5-field cron expression: `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, numbers, ranges (`1-5`), lists (`1,15,30`), steps (`*/15`, `5-20/5`,
/// `10/20` = from 10 to the end by 20) and, for months and weekdays, English names (`jan`,
/// `mon-fri`; case-insensitive). Weekday 0 and 7 are both Sunday. `@hourly`, `@daily`
/// (`@midnight`), `@weekly`, `@monthly` and `@yearly` (`@annually`) stand for their usual
/// expressions.
///
/// As in Vixie cron, when both day-of-month and day-of-week are restricted (neither starts
/// with `*`), a day matching *either* fires: `0 9 1 * mon` runs on the 1st and on Mondays.
///
/// Times are local wall-clock times in the time zone given to ``next(after:in:)``:
/// - a time that daylight saving skips (02:30 on a spring-forward night in New York) fires
///   once, at the first moment after the jump (03:00 new time); several skipped ticks of one
///   night fire that one time;
/// - a time that occurs twice (01:30 on a fall-back night) fires once, at its first occurrence.
///
/// ```swift
/// let cron = try CronExpression("*/15 9-17 * * mon-fri")
/// let next = cron.next(after: .now, in: TimeZone(identifier: "Europe/Berlin")!)
/// ```
/// - throws: ``AgentQError`` `.invalidSchedule` naming the field at fault:
///   `minute 61 is out of range 0-59`.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let text: String
    let minutes: UInt64
    let hours: UInt64
    let daysOfMonth: UInt64
    let months: UInt64
    /// Bit 0 is Sunday; a 7 in the expression sets bit 0.
    let daysOfWeek: UInt64
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { text }

    /// A field of the expression, for messages and bounds.
    enum Field: String, CaseIterable {
        case minute, hour, dayOfMonth = "day-of-month", month, dayOfWeek = "day-of-week"

        var range: ClosedRange<Int> {
            switch self {
            case .minute: return 0...59
            case .hour: return 0...23
            case .dayOfMonth: return 1...31
            case .month: return 1...12
            case .dayOfWeek: return 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: return ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: return ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: return []
            }
        }

        /// The value a name stands for: months count from 1, weekdays from 0.
        var firstNameValue: Int { self == .month ? 1 : 0 }
    }

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text`.
    /// - throws: ``AgentQError`` `.invalidSchedule`: `hour 24 is out of range 0-23`.
    public init(_ text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        self.text = trimmed
        var expanded = trimmed
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw Self.error("unknown shorthand \(Name.quoted(trimmed)) (use @hourly, @daily, @weekly, @monthly or @yearly)")
            }
            expanded = macro
        }
        let parts = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw Self.error(
                "expected 5 fields (minute hour day-of-month month day-of-week), got \(parts.count)")
        }
        minutes = try Self.parse(parts[0], .minute)
        hours = try Self.parse(parts[1], .hour)
        daysOfMonth = try Self.parse(parts[2], .dayOfMonth)
        months = try Self.parse(parts[3], .month)
        var weekdays = try Self.parse(parts[4], .dayOfWeek)
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        daysOfWeek = weekdays
        dayOfMonthRestricted = !parts[2].hasPrefix("*")
        dayOfWeekRestricted = !parts[4].hasPrefix("*")
        // An expression that can never fire (`0 0 30 2 *`) is a mistake, not a schedule.
        if dayOfMonthRestricted && !dayOfWeekRestricted {
            var longest = 0
            for month in 1...12 where months & (UInt64(1) << UInt64(month)) != 0 {
                longest = max(longest, CivilDate.maximumDays(month: month))
            }
            if !(1...31).contains(where: { $0 <= longest && daysOfMonth & (UInt64(1) << UInt64($0)) != 0 }) {
                throw Self.error("day-of-month \(parts[2]) never occurs in month \(parts[3])")
            }
        }
    }

    private static func error(_ message: String) -> AgentQError { AgentQError(.invalidSchedule, message) }

    /// One field as a bit set of its allowed values.
    private static func parse(_ text: String, _ field: Field) throws -> UInt64 {
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard !item.isEmpty else { throw error("\(field.rawValue) \(Name.quoted(text)) has an empty list item") }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard pieces.count <= 2 else { throw error("\(field.rawValue) \(Name.quoted(item)) has more than one /") }
            var step = 1
            if pieces.count == 2 {
                guard let value = Int(pieces[1]), value >= 1, value <= field.range.upperBound else {
                    throw error("\(field.rawValue) step \(Name.quoted(pieces[1])) must be a number from 1 to \(field.range.upperBound)")
                }
                step = value
            }
            var low: Int, high: Int
            if pieces[0] == "*" {
                low = field.range.lowerBound
                high = field == .dayOfWeek ? 6 : field.range.upperBound
            } else if let dash = pieces[0].firstIndex(of: "-"), dash != pieces[0].startIndex {
                low = try value(String(pieces[0][..<dash]), field)
                high = try value(String(pieces[0][pieces[0].index(after: dash)...]), field)
                guard low <= high else { throw error("\(field.rawValue) range \(pieces[0]) goes backwards") }
            } else {
                low = try value(pieces[0], field)
                // `10/20`: from 10 to the end of the field, by 20.
                high = pieces.count == 2 ? (field == .dayOfWeek ? 6 : field.range.upperBound) : low
            }
            var current = low
            while current <= high {
                bits |= 1 << UInt64(current)
                current += step
            }
        }
        return bits
    }

    private static func value(_ text: String, _ field: Field) throws -> Int {
        if let index = field.names.firstIndex(of: text.lowercased()) { return index + field.firstNameValue }
        guard let number = Int(text), text.allSatisfy(\.isASCII) else {
            let names = field.names.isEmpty ? "" : " or a name (\(field.names.first!)…\(field.names.last!))"
            throw error("\(field.rawValue) \(Name.quoted(text)) is not a number\(names)")
        }
        guard field.range.contains(number) else {
            throw error("\(field.rawValue) \(number) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
        }
        return number
    }

    /// Whether the expression fires on a day, by cron's rule for the two day fields.
    func matches(day: CivilDate) -> Bool {
        guard months & (1 << UInt64(day.month)) != 0 else { return false }
        let byMonthDay = daysOfMonth & (1 << UInt64(day.day)) != 0
        let byWeekday = daysOfWeek & (1 << UInt64(day.weekday)) != 0
        if dayOfMonthRestricted && dayOfWeekRestricted { return byMonthDay || byWeekday }
        return byMonthDay && byWeekday
    }

    /// The first time after `date` (strictly) at which the expression fires, in `timeZone`.
    ///
    /// ```swift
    /// try CronExpression("0 0 29 2 *").next(after: jan2026, in: .gmt)   // 2028-02-29 00:00 UTC
    /// ```
    public func next(after date: Date, in timeZone: TimeZone) -> Date {
        let after = Int64(date.timeIntervalSince1970.rounded(.down))
        // Wall-clock seconds ("local epoch") of the first whole minute after `date`.
        let startInstant = (CivilDate.floorDivide(after, 60) + 1) * 60
        let startLocal = startInstant + Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(startInstant))))
        var day = CivilDate.floorDivide(startLocal, 86_400)
        var fromMinuteOfDay = Int((startLocal - day * 86_400) / 60)
        // A valid expression fires at least every 8 years (Feb 29 across a century); 30 years
        // also covers skipped days of odd time zones.
        for _ in 0..<(366 * 30) {
            let civil = CivilDate(daysSinceEpoch: day)
            if matches(day: civil) {
                for hour in fromMinuteOfDay / 60..<24 where hours & (1 << UInt64(hour)) != 0 {
                    let firstMinute = hour == fromMinuteOfDay / 60 ? fromMinuteOfDay % 60 : 0
                    for minute in firstMinute..<60 where minutes & (1 << UInt64(minute)) != 0 {
                        let wall = day * 86_400 + Int64(hour * 3600 + minute * 60)
                        let instant = Self.instant(ofWall: wall, in: timeZone)
                        if instant > after { return Date(timeIntervalSince1970: Double(instant)) }
                    }
                }
            }
            day += 1
            fromMinuteOfDay = 0
        }
        return .distantFuture
    }

    /// The instant of a local wall-clock time: its first occurrence when the clocks repeat it,
    /// the end of the jump when they skip it.
    static func instant(ofWall wall: Int64, in timeZone: TimeZone) -> Int64 {
        func offset(_ instant: Int64) -> Int64 {
            Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))))
        }
        // Every offset in force within a day of the wall time (transitions are hours apart).
        let offsets = Set([offset(wall - 86_400), offset(wall), offset(wall + 86_400)])
        let valid = offsets.map { wall - $0 }.filter { offset($0) == wall - $0 }
        if let first = valid.min() { return first }
        // Skipped: the jump happens between the instants the two offsets would give; find it.
        var low = wall - (offsets.max() ?? 0), high = wall - (offsets.min() ?? 0)
        let before = offset(low)
        while high - low > 1 {
            let middle = (low + high) / 2
            if offset(middle) == before { low = middle } else { high = middle }
        }
        return high
    }
}
