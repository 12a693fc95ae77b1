/// A calendar date in the proleptic Gregorian calendar, from days since 1970-01-01, without
/// Foundation's calendar (cron walks thousands of days; this is arithmetic).
///
/// ```swift
/// CivilDate(daysSinceEpoch: 0)   // 1970-01-01, a Thursday (weekday 4)
/// ```
struct CivilDate: Hashable, Sendable {
    var year: Int
    var month: Int
    var day: Int
    /// 0 is Sunday.
    var weekday: Int

    /// Howard Hinnant's `civil_from_days`.
    init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * shifted + 2) / 5 + 1)
        month = Int(shifted < 10 ? shifted + 3 : shifted - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        weekday = Int(((days % 7) + 11) % 7)
    }

    /// `value / divisor` rounded towards minus infinity (times before 1970 are negative).
    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return value % divisor < 0 ? quotient - 1 : quotient
    }

    /// The most days `month` can have (29 for February).
    static func maximumDays(month: Int) -> Int {
        switch month {
        case 2: return 29
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
