import Foundation

/// Milliseconds since the Unix epoch, the unit every time column of the queue uses.
///
/// ```swift
/// let now = Timestamp.now
/// print(now.iso8601)   // 2026-11-21T15:20:00.123Z
/// ```
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public init(date: Date) { self.milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// The wall clock, read now.
    public static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public func adding(milliseconds delta: Int64) -> Timestamp { Timestamp(milliseconds: milliseconds + delta) }

    /// UTC, millisecond precision, `Z` suffix: the format of every time field agentq prints or writes.
    public var iso8601: String {
        var seconds = time_t(milliseconds.quotientRoundingDown(by: 1000))
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900
        if (0...9999).contains(year) {
            // Digits written in place: string interpolation of seven padded parts cost more than
            // the rest of a result file's document.
            return String(unsafeUninitializedCapacity: 24) { buffer in
                func put(_ value: Int, _ width: Int, at offset: Int) {
                    var value = value
                    for index in stride(from: offset + width - 1, through: offset, by: -1) {
                        buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                        value /= 10
                    }
                }
                put(year, 4, at: 0)
                buffer[4] = UInt8(ascii: "-")
                put(Int(parts.tm_mon) + 1, 2, at: 5)
                buffer[7] = UInt8(ascii: "-")
                put(Int(parts.tm_mday), 2, at: 8)
                buffer[10] = UInt8(ascii: "T")
                put(Int(parts.tm_hour), 2, at: 11)
                buffer[13] = UInt8(ascii: ":")
                put(Int(parts.tm_min), 2, at: 14)
                buffer[16] = UInt8(ascii: ":")
                put(Int(parts.tm_sec), 2, at: 17)
                buffer[19] = UInt8(ascii: ".")
                put(millis, 3, at: 20)
                buffer[23] = UInt8(ascii: "Z")
                return 24
            }
        }
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Parses RFC 3339 text such as `2026-11-21T15:20:00Z` or `2026-11-21T16:20:00.5+01:00`
    /// (see ``RFC3339Parser`` for exactly what is accepted; fractions are truncated to the millisecond).
    public init?(iso8601 text: String) {
        var text = text
        guard let milliseconds = text.withUTF8({ RFC3339Parser.milliseconds($0) }) else { return nil }
        self.init(milliseconds: milliseconds)
    }
}

extension Int64 {
    fileprivate func quotientRoundingDown(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }
}
