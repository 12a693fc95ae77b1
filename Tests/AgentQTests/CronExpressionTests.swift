import AgentQ
import Foundation
import JobQueue
import Testing

@Suite("Cron expressions and intervals")
struct CronExpressionTests {
    /// `2026-03-08T07:00:00Z` as a date.
    static func utc(_ text: String) -> Date {
        Timestamp(date: ISO8601DateFormatter().date(from: text)!).date
    }

    static let utcZone = TimeZone(identifier: "UTC")!

    static func next(_ expression: String, after: String, in zone: String = "UTC") throws -> String {
        let next = try CronExpression(expression).next(after: utc(after), in: TimeZone(identifier: zone)!)
        return Timestamp(date: next).iso8601
    }

    /// (expression, time zone, after, expected next fire), all instants in UTC.
    static let table: [(String, String, String, String)] = [
        // Steps, ranges, lists.
        ("*/15 * * * *", "UTC", "2026-03-10T10:07:00Z", "2026-03-10T10:15:00.000Z"),
        ("*/15 * * * *", "UTC", "2026-03-10T10:15:00Z", "2026-03-10T10:30:00.000Z"),
        ("5-20/5 * * * *", "UTC", "2026-03-10T10:06:00Z", "2026-03-10T10:10:00.000Z"),
        ("5-20/5 * * * *", "UTC", "2026-03-10T10:20:00Z", "2026-03-10T11:05:00.000Z"),
        ("10/20 * * * *", "UTC", "2026-03-10T10:31:00Z", "2026-03-10T10:50:00.000Z"),
        ("0 8,12,18 * * *", "UTC", "2026-03-10T12:00:30Z", "2026-03-10T18:00:00.000Z"),
        // Seconds within the minute never fire early or twice.
        ("* * * * *", "UTC", "2026-03-10T10:07:59Z", "2026-03-10T10:08:00.000Z"),
        // Feb 29 from a non-leap year; the 31st skips short months.
        ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00.000Z"),
        ("0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00.000Z"),
        ("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00.000Z"),
        ("0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00.000Z"),
        // Both day fields restricted: either fires (Monday 2026-03-02, the 1st of April a Wednesday).
        ("0 9 1 * mon", "UTC", "2026-03-02T10:00:00Z", "2026-03-09T09:00:00.000Z"),
        ("0 9 1 * mon", "UTC", "2026-03-30T10:00:00Z", "2026-04-01T09:00:00.000Z"),
        // Day-of-month starting with * : both must match (odd days that are Mondays).
        ("0 9 */2 * mon", "UTC", "2026-03-01T00:00:00Z", "2026-03-09T09:00:00.000Z"),
        // Names, Sunday as 7.
        ("30 8 * jan,jul mon-fri", "UTC", "2026-06-15T00:00:00Z", "2026-07-01T08:30:00.000Z"),
        ("0 0 * * 7", "UTC", "2026-03-01T00:00:00Z", "2026-03-08T00:00:00.000Z"),
        ("0 0 * * SUN", "UTC", "2026-03-01T00:00:00Z", "2026-03-08T00:00:00.000Z"),
        // Shorthands.
        ("@hourly", "UTC", "2026-03-10T10:00:00Z", "2026-03-10T11:00:00.000Z"),
        ("@daily", "UTC", "2026-03-10T10:00:00Z", "2026-03-11T00:00:00.000Z"),
        ("@midnight", "UTC", "2026-03-10T10:00:00Z", "2026-03-11T00:00:00.000Z"),
        ("@weekly", "UTC", "2026-03-01T00:00:00Z", "2026-03-08T00:00:00.000Z"),
        ("@monthly", "UTC", "2026-03-10T10:00:00Z", "2026-04-01T00:00:00.000Z"),
        ("@yearly", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00.000Z"),
        ("@annually", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00.000Z"),
        // New York springs forward on 2026-03-08 at 02:00 EST (07:00Z) to 03:00 EDT: 02:30 does
        // not exist and fires at the jump; the next day's 02:30 is EDT.
        ("30 2 * * *", "America/New_York", "2026-03-07T17:00:00Z", "2026-03-08T07:00:00.000Z"),
        ("30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00.000Z"),
        ("0 * * * *", "America/New_York", "2026-03-08T06:30:00Z", "2026-03-08T07:00:00.000Z"),
        ("0 * * * *", "America/New_York", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00.000Z"),
        // It falls back on 2026-11-01 at 02:00 EDT (06:00Z) to 01:00 EST: 01:30 fires once, at
        // its first occurrence (EDT); the repeated hour does not fire again.
        ("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", "2026-11-01T05:30:00.000Z"),
        ("30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00.000Z"),
        ("0 * * * *", "America/New_York", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00.000Z"),
        // Berlin: forward on 2026-03-29 at 02:00 CET (01:00Z), back on 2026-10-25 at 03:00 CEST (01:00Z).
        ("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z"),
        ("*/15 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00.000Z"),
        ("*/15 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00.000Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00.000Z"),
        ("30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00.000Z"),
        ("0 9 * * mon-fri", "Europe/Berlin", "2026-03-27T09:00:00Z", "2026-03-30T07:00:00.000Z"),
    ]

    @Test("next fire times match the table (steps, Feb 29, short months, the day OR rule, DST)", arguments: table)
    func nextFire(_ row: (String, String, String, String)) throws {
        let (expression, zone, after, expected) = row
        #expect(try Self.next(expression, after: after, in: zone) == expected, "\(expression) in \(zone) after \(after)")
    }

    @Test("a bad expression names its field", arguments: [
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("* 24 * * *", "hour 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month 0 is out of range 1-31"),
        ("* * * 13 *", "month 13 is out of range 1-12"),
        ("* * * * 8", "day-of-week 8 is out of range 0-7"),
        ("* * * * funday", "day-of-week \"funday\" is not a number or a name (sun…sat)"),
        ("* * * foo *", "month \"foo\" is not a number or a name (jan…dec)"),
        ("*/0 * * * *", "minute step \"0\" must be a number from 1 to 59"),
        ("5-2 * * * *", "minute range 5-2 goes backwards"),
        ("1,,2 * * * *", "minute \"1,,2\" has an empty list item"),
        ("* * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
        ("0 0 30 2 *", "day-of-month 30 never occurs in month 2"),
        ("@fortnightly", "unknown shorthand \"@fortnightly\" (use @hourly, @daily, @weekly, @monthly or @yearly)"),
    ])
    func badExpression(_ row: (String, String)) {
        do {
            _ = try CronExpression(row.0)
            Issue.record("\(row.0) was accepted")
        } catch let error as AgentQError {
            #expect(error.code == .invalidSchedule)
            #expect(error.message == row.1)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("intervals: a whole number and s, m, h or d")
    func intervals() throws {
        #expect(try Every("30s").milliseconds == 30_000)
        #expect(try Every("5m").milliseconds == 300_000)
        #expect(try Every("2h").milliseconds == 7_200_000)
        #expect(try Every("1d").milliseconds == 86_400_000)
        for bad in ["0s", "90x", "1.5h", "", "-5m", "m", "400d", "１s"] {
            #expect(throws: AgentQError.self, "\(bad)") { try Every(bad) }
        }
    }

    @Test("an interval keeps its phase and collapses missed ticks into one")
    func intervalTicks() throws {
        let spec = ScheduleSpec.every(try Every("10s"))
        let due = Timestamp(milliseconds: 1_000_000)
        // On time: the next tick.
        #expect(spec.nextTick(after: due.adding(milliseconds: 300), due: due, in: Self.utcZone).milliseconds == 1_010_000)
        // 35 s late: ticks at +10, +20, +30 are gone; the next is +40.
        #expect(spec.nextTick(after: due.adding(milliseconds: 35_000), due: due, in: Self.utcZone).milliseconds == 1_040_000)
        // Exactly on a later tick: strictly after it.
        #expect(spec.nextTick(after: due.adding(milliseconds: 20_000), due: due, in: Self.utcZone).milliseconds == 1_030_000)
    }
}

@Suite("Cron expressions against a minute-by-minute search")
struct CronBruteForceTests {
    /// Random field sets written as lists; the next fire must be the first minute after the
    /// start whose local date and time (from Foundation's calendar) match, by cron's day rule.
    @Test("next equals the first matching minute, in UTC and in a half-hour zone", arguments: ["UTC", "Asia/Kolkata"])
    func matchesBruteForce(zoneName: String) throws {
        let zone = try #require(TimeZone(identifier: zoneName))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var generator = SeededNumbers(seed: 0x5EED)
        func pick(_ range: ClosedRange<Int>, _ count: Int) -> [Int] {
            Array(Set((0..<count).map { _ in Int(generator.next() % UInt64(range.count)) + range.lowerBound })).sorted()
        }
        for _ in 0..<150 {
            let minutes = pick(0...59, 1 + Int(generator.next() % 4))
            let hours = pick(0...23, 1 + Int(generator.next() % 6))
            let allDays = generator.next() % 2 == 0, allWeekdays = generator.next() % 2 == 0
            let days = allDays ? [] : pick(1...31, 1 + Int(generator.next() % 8))
            let weekdays = allWeekdays ? [] : pick(0...6, 1 + Int(generator.next() % 3))
            func list(_ values: [Int]) -> String { values.isEmpty ? "*" : values.map(String.init).joined(separator: ",") }
            let fields: [String] = [list(minutes), list(hours), list(days), "*", list(weekdays)]
            let text = fields.joined(separator: " ")
            let cron = try CronExpression(text)
            let start = Date(timeIntervalSince1970: 1_780_000_000 + Double(generator.next() % 40_000_000))
            func matches(_ date: Date) -> Bool {
                let parts = calendar.dateComponents([.minute, .hour, .day, .weekday], from: date)
                guard minutes.contains(parts.minute!), hours.contains(parts.hour!) else { return false }
                let byDay = days.contains(parts.day!), byWeekday = weekdays.contains(parts.weekday! - 1)
                if allDays && allWeekdays { return true }
                if allDays { return byWeekday }
                if allWeekdays { return byDay }
                return byDay || byWeekday
            }
            var candidate = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
            var expected: Date?
            for _ in 0..<(62 * 24 * 60) where expected == nil {
                if matches(candidate) { expected = candidate } else { candidate += 60 }
            }
            guard let expected else { continue }   // rarer than two months: not searched here
            #expect(cron.next(after: start, in: zone) == expected, "\(text) after \(start)")
        }
    }
}

/// Knuth's MMIX linear congruential generator: seeded, so a failure repeats.
struct SeededNumbers {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 17
    }
}
