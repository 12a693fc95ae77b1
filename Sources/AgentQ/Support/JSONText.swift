/// Builds JSON text by hand where field order and speed matter (result files, `--json` output).
///
/// ```swift
/// var json = JSONText()
/// json.object { $0.field("job_id", "job_01…"); $0.field("steps", 1) }
/// ```
public struct JSONText: Sendable {
    public private(set) var text = ""
    private var needsComma = [false]

    public init() {}

    public static func quoted(_ string: String) -> String {
        var out = ""
        appendQuoted(string, to: &out)
        return out
    }

    /// The bytes a JSON string cannot hold as they are: control characters, `"` and `\`.
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    public static func appendQuoted(_ string: String, to out: inout String) {
        // Most strings (every key, most values) need no escape: one pass over their bytes, then
        // one append, instead of a walk through the String's UTF-8 view index by index.
        var contiguous = string
        let plain = contiguous.withUTF8 { bytes in
            !bytes.contains(where: needsEscape)
        }
        out.append("\"")
        if plain {
            out.append(contiguous)
        } else {
            contiguous.withUTF8 { bytes in
                escape(bytes) { out.append(String(decoding: $0, as: UTF8.self)) }
            }
        }
        out.append("\"")
    }

    /// `string` as a JSON string, appended to bytes (a result file's).
    static func appendQuoted(_ string: String, to out: inout [UInt8]) {
        var contiguous = string
        out.append(UInt8(ascii: "\""))
        contiguous.withUTF8 { bytes in
            if !bytes.contains(where: needsEscape) {
                out.append(contentsOf: bytes)
            } else {
                escape(bytes) { out.append(contentsOf: $0) }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Hands `bytes` to `emit` as JSON string content: runs that need no escape as they are,
    /// and an escape sequence (`\"`, `\\`, `\n`, `\u0001`…) for each byte that does.
    private static func escape(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        var plainStart = 0
        for index in bytes.indices where needsEscape(bytes[index]) {
            if plainStart < index { emit(UnsafeBufferPointer(rebasing: bytes[plainStart..<index])) }
            let byte = bytes[index]
            let hex: StaticString = "0123456789abcdef"
            var sequence: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
                UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                hex.utf8Start[Int(byte >> 4)], hex.utf8Start[Int(byte & 15)])
            var length = 2
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): sequence.1 = byte
            case 0x0A: sequence.1 = UInt8(ascii: "n")
            case 0x0D: sequence.1 = UInt8(ascii: "r")
            case 0x09: sequence.1 = UInt8(ascii: "t")
            default: length = 6
            }
            withUnsafeBytes(of: &sequence) { raw in
                emit(UnsafeBufferPointer(start: raw.bindMemory(to: UInt8.self).baseAddress, count: length))
            }
            plainStart = index + 1
        }
        if plainStart < bytes.count { emit(UnsafeBufferPointer(rebasing: bytes[plainStart...])) }
    }

    private mutating func key(_ name: String) {
        if needsComma[needsComma.count - 1] { text.append(",") }
        needsComma[needsComma.count - 1] = true
        Self.appendQuoted(name, to: &text)
        text.append(":")
    }

    public mutating func object(_ body: (inout JSONText) -> Void) {
        text.append("{")
        needsComma.append(false)
        body(&self)
        needsComma.removeLast()
        text.append("}")
    }

    public mutating func field(_ name: String, _ value: String?) {
        key(name)
        if let value { Self.appendQuoted(value, to: &text) } else { text.append("null") }
    }

    public mutating func field(_ name: String, _ value: Int) {
        key(name)
        text.append(String(value))
    }

    public mutating func field(_ name: String, _ value: Double) {
        key(name)
        text.append(String(value))
    }

    /// A field whose value is already JSON text (`null` when nil).
    public mutating func field(_ name: String, raw: String?) {
        key(name)
        text.append(raw ?? "null")
    }

    public mutating func field(_ name: String, object body: (inout JSONText) -> Void) {
        key(name)
        object(body)
    }
}
