/// Reads an RFC 3339 date-time into milliseconds since the Unix epoch, without Foundation.
///
/// Bulk files can carry a `run_at` on each of a million lines; `ISO8601DateFormatter` cost
/// about 150 µs a line (two formatters built per call), this a few dozen nanoseconds.
///
/// Accepted, and nothing else (no surrounding spaces, no week or ordinal dates):
///
///     YYYY-MM-DD ("T" | "t") hh:mm:ss [ "." 1*DIGIT ] ( "Z" | "z" | ("+" | "-") hh [ [":"] mm ] )
///
/// - Years 0000–9999 on the proleptic Gregorian calendar (RFC 3339 §5.6); Feb 29 only in leap years.
/// - hh 00–23, mm 00–59, ss 00–59: neither `24:00:00` nor a leap second `:60` names a time here.
/// - A fraction of any length is **truncated** to the millisecond (`.9999` is 999 ms), so a
///   time never moves into the next second; digits beyond the third are checked, then dropped.
/// - The offset `±hh:mm` of RFC 3339, and ISO 8601's `±hhmm` and `±hh` (what `strftime("%z")` writes).
///
/// ```swift
/// RFC3339Parser.milliseconds(Array("2026-11-21T16:00:00.5+01:00".utf8))   // 1_795_273_200_500
/// ```
public enum RFC3339Parser {
    /// The instant `text` names, or nil when it is not a date-time of the form above.
    public static func milliseconds<Bytes: Collection<UInt8>>(_ text: Bytes) -> Int64? where Bytes.Index == Int {
        var reader = Reader(bytes: text, index: text.startIndex)
        guard let year = reader.digits(4), reader.skip(UInt8(ascii: "-")),
            let month = reader.digits(2), reader.skip(UInt8(ascii: "-")),
            let day = reader.digits(2), reader.skip(UInt8(ascii: "T")) || reader.skip(UInt8(ascii: "t")),
            let hour = reader.digits(2), reader.skip(UInt8(ascii: ":")),
            let minute = reader.digits(2), reader.skip(UInt8(ascii: ":")),
            let second = reader.digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour <= 23, minute <= 59, second <= 59
        else { return nil }

        var millisecond: Int64 = 0
        if reader.skip(UInt8(ascii: ".")) {
            var count = 0
            while let digit = reader.digit() {
                if count < 3 { millisecond = millisecond * 10 + digit }
                count += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 3) { millisecond *= 10 }
        }

        var offsetMinutes: Int64 = 0
        if reader.skip(UInt8(ascii: "Z")) || reader.skip(UInt8(ascii: "z")) {
            // UTC.
        } else if let sign: Int64 = reader.skip(UInt8(ascii: "+")) ? 1 : reader.skip(UInt8(ascii: "-")) ? -1 : nil {
            guard let offsetHour = reader.digits(2), offsetHour <= 23 else { return nil }
            var offsetMinute: Int64 = 0
            if !reader.atEnd {
                _ = reader.skip(UInt8(ascii: ":"))
                guard let minutes = reader.digits(2), minutes <= 59 else { return nil }
                offsetMinute = minutes
            }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        } else {
            return nil
        }
        guard reader.atEnd else { return nil }

        let days = daysSinceEpoch(year: year, month: month, day: day)
        let seconds = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60 + second
        return seconds * 1000 + millisecond
    }

    /// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private struct Reader<Bytes: Collection<UInt8>> where Bytes.Index == Int {
        let bytes: Bytes
        var index: Int

        var atEnd: Bool { index == bytes.endIndex }

        mutating func skip(_ byte: UInt8) -> Bool {
            guard index < bytes.endIndex, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard index < bytes.endIndex else { return nil }
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            index += 1
            return Int64(byte - UInt8(ascii: "0"))
        }

        /// Exactly `count` ASCII digits.
        mutating func digits(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }
    }
}
