import Foundation

/// Generates prefixed, time-sortable unique identifiers such as `job_01jdq3v4y8k2m5n7p9r1s3t5v7`.
///
/// The 26 characters after the prefix are a ULID in lower-case Crockford base 32: 48 bits of
/// milliseconds, then 80 random bits. Within one process identifiers are strictly increasing,
/// also inside one millisecond, so sorting by ID is sorting by creation.
///
/// ```swift
/// let id = SortableID.make(prefix: "job_")
/// ```
public final class SortableID: @unchecked Sendable {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    private static let shared = SortableID()

    private let lock = NSLock()
    private var lastMillis: Int64 = 0
    private var high: UInt16 = 0   // top 16 of the 80 random bits
    private var low: UInt64 = 0    // bottom 64 of the 80 random bits

    public init() {}

    /// A new identifier from the process-wide generator.
    public static func make(prefix: String) -> String { shared.next(prefix: prefix) }

    /// A new identifier, greater than every one this generator made before.
    public func next(prefix: String) -> String {
        let now = Timestamp.now.milliseconds
        lock.lock()
        if now > lastMillis {
            lastMillis = now
            high = UInt16.random(in: 0...UInt16.max) >> 1   // leave room to increment
            low = UInt64.random(in: 0...UInt64.max)
        } else {
            let (sum, overflow) = low.addingReportingOverflow(1)
            low = sum
            if overflow { high &+= 1 }
        }
        let millis = lastMillis, h = high, l = low
        lock.unlock()
        return Self.encode(prefix: prefix, millis: millis, high: h, low: l)
    }

    private static func encode(prefix: String, millis: Int64, high: UInt16, low: UInt64) -> String {
        let prefixBytes = prefix.utf8.count
        return String(unsafeUninitializedCapacity: prefixBytes + 26) { buffer in
            _ = buffer.initialize(from: prefix.utf8)
            let body = UnsafeMutableBufferPointer(rebasing: buffer[prefixBytes...])
            encode(into: body, millis: millis, high: high, low: low)
            return prefixBytes + 26
        }
    }

    private static func encode(into bytes: UnsafeMutableBufferPointer<UInt8>, millis: Int64, high: UInt16, low: UInt64) {
        var time = UInt64(millis)
        let alphabet = Self.alphabet
        for index in stride(from: 9, through: 0, by: -1) {
            bytes[index] = alphabet[Int(time & 31)]
            time >>= 5
        }
        // 80 random bits = 16 characters: high (16 bits) then low (64 bits).
        var lowBits = low
        for index in stride(from: 25, through: 13, by: -1) {   // 13 chars × 5 = 65 bits; the top one comes from high
            bytes[index] = alphabet[Int(lowBits & 31)]
            lowBits >>= 5
        }
        // character 13 took low's top 4 bits (plus a zero); fold in high's lowest bit.
        bytes[13] = alphabet[Int((low >> 60) & 15) | Int((high & 1) << 4)]
        var highBits = high >> 1
        for index in stride(from: 12, through: 10, by: -1) {
            bytes[index] = alphabet[Int(highBits & 31)]
            highBits >>= 5
        }
    }
}
