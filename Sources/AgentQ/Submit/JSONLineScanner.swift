import Foundation

/// A strict, allocation-light JSON reader for one line of a bulk file.
///
/// Bulk files are hundreds of thousands of small objects, and Foundation's JSONSerialization
/// builds a dictionary of boxed values for each; this reads the top-level object field by
/// field, decoding only strings and numbers and checking (not building) nested values.
///
/// ```swift
/// var scanner = JSONLineScanner(bytes)
/// try scanner.readObject { key, scanner in ... }
/// ```
struct JSONLineScanner {
    enum Value {
        case string(String)
        case number(Double, integer: Int64?)
        case bool(Bool)
        case null
        /// An object or array, as the exact text of the line.
        case composite(text: String, isObject: Bool)
    }

    private let bytes: UnsafeRawBufferPointer
    private var index: Int

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        index = 0
    }

    /// Reads the line's one top-level object, calling `field` for each member in order.
    /// - throws: ``BulkLineError`` where the line is not valid JSON or not an object.
    mutating func readObject(_ field: (String, Value) throws -> Void) throws {
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else {
            if index < bytes.count, (try? readValue(depth: 0)) != nil, atEndAfterWhitespace() {
                throw BulkLineError("expected a JSON object")
            }
            throw BulkLineError("not valid JSON")
        }
        index += 1
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipWhitespace()
                guard peek() == UInt8(ascii: "\"") else { throw invalid() }
                let key = try readString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw invalid() }
                index += 1
                skipWhitespace()
                let value = try readValue(depth: 1)
                try field(key, value)
                skipWhitespace()
                if peek() == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard peek() == UInt8(ascii: "}") else { throw invalid() }
                index += 1
                break
            }
        }
        guard atEndAfterWhitespace() else { throw invalid() }
    }

    private func invalid() -> BulkLineError { BulkLineError("not valid JSON") }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func atEndAfterWhitespace() -> Bool {
        skipWhitespace()
        return index == bytes.count
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func readValue(depth: Int) throws -> Value {
        guard let byte = peek() else { throw invalid() }
        switch byte {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let start = index
            try skipComposite(depth: depth)
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            return .composite(text: text, isObject: byte == UInt8(ascii: "{"))
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw invalid()
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw invalid() }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { throw invalid() }
        index += count
    }

    private mutating func readNumber() throws -> Value {
        let start = index
        var isInteger = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw invalid() }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            try skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard try skipDigits() > 0 else { throw invalid() }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard try skipDigits() > 0 else { throw invalid() }
        }
        if isInteger, let value = smallInteger(start..<index) { return value }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let double = Double(text) else { throw invalid() }
        // 1e999 reads as infinity, which no JSON reader can give back (Foundation refuses it):
        // taken, it would reach a job's metadata and break every later reading of it.
        guard double.isFinite else {
            throw BulkLineError("not valid JSON: the number \(text.prefix(40)) is too large for a double")
        }
        return .number(double, integer: isInteger ? Int64(text) : nil)
    }

    /// An integer of at most 15 digits, read without making a string: such a number is exact in
    /// a double, so this gives what `Double(text)` and `Int64(text)` give (`-0` stays `-0.0`).
    private func smallInteger(_ range: Range<Int>) -> Value? {
        let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
        let digits = negative ? range.dropFirst() : range[...]
        guard digits.count <= 15 else { return nil }
        var value: Int64 = 0
        for offset in digits { value = value * 10 + Int64(bytes[offset] &- UInt8(ascii: "0")) }
        if negative { value = -value }
        return .number(negative && value == 0 ? -0.0 : Double(value), integer: value)
    }

    @discardableResult
    private mutating func skipDigits() throws -> Int {
        let start = index
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index - start
    }

    private mutating func readString() throws -> String {
        index += 1   // the opening quote
        let start = index
        // Fast path: no escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw invalid() }
            index += 1
        }
        guard index < bytes.count else { throw invalid() }
        var buffer = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escaped = peek() else { throw invalid() }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): buffer.append(escaped)
                case UInt8(ascii: "b"): buffer.append(0x08)
                case UInt8(ascii: "f"): buffer.append(0x0C)
                case UInt8(ascii: "n"): buffer.append(0x0A)
                case UInt8(ascii: "r"): buffer.append(0x0D)
                case UInt8(ascii: "t"): buffer.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try readHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek() == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw BulkLineError("not valid JSON: a lone UTF-16 surrogate in a \\u escape") }
                        index += 2
                        let low = try readHex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw BulkLineError("not valid JSON: a lone UTF-16 surrogate in a \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw BulkLineError("not valid JSON: a lone UTF-16 surrogate in a \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw invalid() }
                    buffer.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    throw invalid()
                }
            default:
                if byte < 0x20 { throw invalid() }
                buffer.append(byte)
                index += 1
            }
        }
        throw invalid()
    }

    private mutating func readHex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw invalid() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw invalid()
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    /// Checks a nested object or array and moves past it.
    private mutating func skipComposite(depth: Int) throws {
        guard depth < 64 else { throw BulkLineError("not valid JSON: nested deeper than 64 levels") }
        let isObject = bytes[index] == UInt8(ascii: "{")
        let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
        index += 1
        skipWhitespace()
        if peek() == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            if isObject {
                guard peek() == UInt8(ascii: "\"") else { throw invalid() }
                _ = try readString()
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw invalid() }
                index += 1
                skipWhitespace()
            }
            guard let byte = peek() else { throw invalid() }
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                try skipComposite(depth: depth + 1)
            } else {
                _ = try readValue(depth: depth + 1)
            }
            skipWhitespace()
            if peek() == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard peek() == close else { throw invalid() }
            index += 1
            return
        }
    }
}
