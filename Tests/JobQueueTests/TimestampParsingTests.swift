import Foundation
import JobQueue
import Testing

/// `Timestamp(iso8601:)`, the reader of every `run_at` text, against an independent oracle
/// (glibc's `timegm`, proleptic Gregorian) and the edges RFC 3339 draws.
@Suite("Timestamp parsing")
struct TimestampParsingTests {
    /// Milliseconds for the given UTC fields, from `timegm`.
    static func oracle(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int) -> Int64 {
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        return Int64(timegm(&parts)) * 1000
    }

    static func parse(_ text: String) -> Int64? { Timestamp(iso8601: text)?.milliseconds }

    @Test("what agentq writes reads back exactly, years 0000 to 9999, 20,000 random instants")
    func roundTrip() {
        var generator = SystemRandomNumberGenerator()
        let lowest = Self.oracle(0, 1, 1, 0, 0, 0), highest = Self.oracle(9999, 12, 31, 23, 59, 59) + 999
        var mismatches: [String] = []
        for index in 0..<20_000 {
            let milliseconds = index < 4 ? [lowest, highest, 0, -1][index] : Int64.random(in: lowest...highest, using: &generator)
            let time = Timestamp(milliseconds: milliseconds)
            if Timestamp(iso8601: time.iso8601) != time { mismatches.append("\(milliseconds) → \(time.iso8601)") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test("offsets move the instant by exactly their hours and minutes, every form")
    func offsets() {
        let utc = Self.oracle(2026, 11, 21, 15, 20, 0)
        let cases: [(String, Int64)] = [
            ("Z", 0), ("z", 0), ("+00:00", 0), ("-00:00", 0), ("+01:00", -60), ("-01:30", 90), ("+0100", -60),
            ("+01", -60), ("-0530", 330), ("+23:59", -(23 * 60 + 59)), ("-23:59", 23 * 60 + 59), ("+05:45", -345),
        ]
        for (offset, minutes) in cases {
            #expect(Self.parse("2026-11-21T15:20:00\(offset)") == utc + minutes * 60_000, "offset \(offset)")
        }
        // An offset that crosses a day, a month and a year boundary.
        #expect(Self.parse("2026-12-31T23:30:00-01:00") == Self.oracle(2027, 1, 1, 0, 30, 0))
        #expect(Self.parse("2026-01-01T00:10:00+01:00") == Self.oracle(2025, 12, 31, 23, 10, 0))
    }

    @Test("fractions of 1 to 9 digits are truncated to the millisecond, never rounded up")
    func fractions() {
        let base = Self.oracle(2026, 11, 21, 15, 20, 0)
        let cases: [(String, Int64)] = [
            ("5", 500), ("05", 50), ("123", 123), ("1234", 123), ("1239", 123), ("12345", 123), ("999999", 999),
            ("0009", 0), ("0019", 1), ("9999999", 999), ("99999999", 999), ("999999999", 999), ("000000001", 0),
            ("100000000", 100), ("12345678901234567890", 123),
        ]
        for (fraction, milliseconds) in cases {
            #expect(Self.parse("2026-11-21T15:20:00.\(fraction)Z") == base + milliseconds, "fraction .\(fraction)")
        }
        // With an offset, and before the epoch: truncation is of the fraction, not toward zero.
        #expect(Self.parse("2026-11-21T16:20:00.987654+01:00") == base + 987)
        #expect(Self.parse("1969-12-31T23:59:59.9999Z") == -1)
    }

    @Test("Feb 29 exists only in leap years; each month has its own last day")
    func calendar() {
        #expect(Self.parse("2024-02-29T12:00:00Z") == Self.oracle(2024, 2, 29, 12, 0, 0))
        #expect(Self.parse("2000-02-29T00:00:00Z") == Self.oracle(2000, 2, 29, 0, 0, 0))
        #expect(Self.parse("1600-02-29T00:00:00Z") == Self.oracle(1600, 2, 29, 0, 0, 0))
        for text in ["2026-02-29", "1900-02-29", "2100-02-29", "2024-02-30", "2026-04-31", "2026-06-31", "2026-09-31",
                     "2026-11-31", "2026-01-32", "2026-12-32"] {
            #expect(Self.parse("\(text)T00:00:00Z") == nil, "\(text) does not exist")
        }
        for (month, last) in [(1, 31), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31), (8, 31), (9, 30), (10, 31), (11, 30), (12, 31)] {
            let text = String(format: "2026-%02d-%02dT00:00:00Z", month, last)
            #expect(Self.parse(text) == Self.oracle(2026, month, last, 0, 0, 0), "\(text)")
        }
        // Before the Gregorian reform, RFC 3339 still counts Gregorian days.
        #expect(Self.parse("1582-10-10T00:00:00Z") == Self.oracle(1582, 10, 10, 0, 0, 0))
        #expect(Self.parse("0000-01-01T00:00:00Z") == Self.oracle(0, 1, 1, 0, 0, 0))
    }

    @Test("out-of-range fields and malformed text are refused, not wrapped into another time")
    func refused() {
        let texts = [
            "2026-00-01T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z",
            "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+00:60",
            "2026-01-01T00:00:00+99:00", "2026-01-01T00:00:00+1:00", "2026-01-01T00:00:00+01:00:30",
            "2026-01-01T00:00:00+010", "2026-01-01T00:00:00+01:", "2026-01-01T00:00:00\u{2212}01:00",
            "2026-01-01T00:00:00", "2026-01-01T00:00Z", "2026-01-01", "2026-1-01T00:00:00Z", "26-01-01T00:00:00Z",
            "12026-01-01T00:00:00Z", "+2026-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "20260101T000000Z",
            "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.-5Z", "2026-01-01T00:00:00,5Z", "2026-01-01T1:00:00Z",
            " 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", "2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00 Z",
            "2026-01-01T00:00:00UTC", "2026-01-01 00:00:00Z", "\u{FF12}026-01-01T00:00:00Z", "2026-W01-1T00:00:00Z",
            "", "T", "2026-01-01T00:00:00Z\u{0}",
        ]
        for text in texts { #expect(Self.parse(text) == nil, "\(text.debugDescription) was accepted") }
        // RFC 3339 §5.6: "T" and "Z" may be lower case.
        #expect(Self.parse("2026-01-01t00:00:00z") == Self.oracle(2026, 1, 1, 0, 0, 0))
    }
}
