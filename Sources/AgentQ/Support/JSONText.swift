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
        if plain {
            out.append("\"")
            out.append(contiguous)
            out.append("\"")
            return
        }
        out.append("\"")
        var plainStart = string.utf8.startIndex
        let utf8 = string.utf8
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            if needsEscape(byte) {
                out.append(contentsOf: Substring(utf8[plainStart..<index]))
                switch byte {
                case UInt8(ascii: "\""): out.append("\\\"")
                case UInt8(ascii: "\\"): out.append("\\\\")
                case 0x0A: out.append("\\n")
                case 0x0D: out.append("\\r")
                case 0x09: out.append("\\t")
                default:
                    let hex = Array("0123456789abcdef")
                    out.append("\\u00")
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 15)])
                }
                plainStart = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        // A slice of the UTF-8 view, appended as is: no String made for it.
        out.append(contentsOf: Substring(utf8[plainStart..<utf8.endIndex]))
        out.append("\"")
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
