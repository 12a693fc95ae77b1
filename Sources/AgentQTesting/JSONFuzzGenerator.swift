/// Generates the inputs of the JSON-line fuzzer from a seed: valid JSON objects with random
/// nesting, escapes, Unicode and numbers; bulk lines with agentq's real field names; other
/// top-level values; edge cases (deep nesting, huge numbers, byte-order marks, surrogates);
/// and mutations of all of these (bit flips, truncations, deletions, duplications, and
/// insertions of quotes, backslashes, brackets, control characters and invalid UTF-8).
///
/// ```swift
/// var generator = JSONFuzzGenerator(seed: 42)
/// let line: [UInt8] = generator.next()
/// ```
public struct JSONFuzzGenerator {
    /// SplitMix64: small, fast, and the same sequence on every platform for a seed.
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    private mutating func random() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 0..<bound.
    private mutating func below(_ bound: Int) -> Int { Int(random() % UInt64(max(bound, 1))) }
    private mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    private mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// The next input: one line's bytes (which may hold anything, a newline included).
    public mutating func next() -> [UInt8] {
        let roll = below(100)
        var bytes: [UInt8]
        switch roll {
        case 0..<22: bytes = object(depth: 0)
        case 22..<40: bytes = bulkLine()
        case 40..<44: bytes = value(depth: 0)
        case 44..<50: bytes = edgeCase()
        default:
            bytes = chance(40) ? bulkLine() : chance(90) ? object(depth: 0) : edgeCase()
            for _ in 0...below(3) { mutate(&bytes) }
        }
        return bytes
    }

    // MARK: Valid JSON

    private mutating func whitespace() -> [UInt8] {
        guard chance(15) else { return [] }
        return (0...below(2)).map { _ in pick([0x20, 0x20, 0x09, 0x0D, 0x0A]) }
    }

    mutating func value(depth: Int) -> [UInt8] {
        let roll = depth > 6 ? below(70) : below(100)
        switch roll {
        case 0..<25: return string()
        case 25..<45: return number()
        case 45..<50: return Array(pick(["true", "false", "null"]).utf8)
        case 50..<70: return chance(50) ? Array("\"\(below(1000))\"".utf8) : Array("\(below(100))".utf8)
        case 70..<85: return object(depth: depth + 1)
        default: return array(depth: depth + 1)
        }
    }

    mutating func object(depth: Int) -> [UInt8] {
        var out: [UInt8] = whitespace() + [UInt8(ascii: "{")]
        let count = below(depth == 0 ? 6 : 4)
        for index in 0..<count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += whitespace() + (chance(20) ? Array("\"\(pick(Self.fieldNames))\"".utf8) : string()) + whitespace()
            out.append(UInt8(ascii: ":"))
            out += whitespace() + value(depth: depth) + whitespace()
        }
        if count == 0 { out += whitespace() }
        out.append(UInt8(ascii: "}"))
        return out + whitespace()
    }

    private mutating func array(depth: Int) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        let count = below(4)
        for index in 0..<count {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += whitespace() + value(depth: depth) + whitespace()
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    private mutating func string() -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        for _ in 0..<below(chance(10) ? 40 : 8) {
            switch below(100) {
            case 0..<50: out.append(UInt8(ascii: "a") + UInt8(below(26)))
            case 50..<58: out.append(pick([0x20, 0x2F, 0x27, 0x7E, 0x7F, 0x3C, 0x30]))
            case 58..<70: out += Array(pick(["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]).utf8)
            case 70..<80: out += Array(escape(UInt16(truncatingIfNeeded: below(chance(50) ? 0x80 : 0x10000))).utf8)
            case 80..<85:
                // A surrogate pair, sometimes broken: lone high, lone low, high + non-low.
                let high = 0xD800 + UInt16(below(0x400)), low = 0xDC00 + UInt16(below(0x400))
                switch below(10) {
                case 0: out += Array(escape(high).utf8)
                case 1: out += Array(escape(low).utf8)
                case 2: out += Array((escape(high) + escape(high)).utf8)
                default: out += Array((escape(high) + escape(low)).utf8)
                }
            default:
                let scalar = pick([0xE9, 0x3B1, 0x4E2D, 0x1F600, 0x10FFFF, 0xFFFD, 0x2028, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000])
                out += Array(String(Unicode.Scalar(UInt32(scalar))!).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
        return out
    }

    private mutating func escape(_ unit: UInt16) -> String {
        let hex = String(unit, radix: 16, uppercase: chance(50))
        return "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
    }

    private mutating func digits(_ count: Int) -> String {
        String((0..<count).map { _ in Character(Unicode.Scalar(UInt8(ascii: "0") + UInt8(below(10)))) })
    }

    mutating func number() -> [UInt8] {
        var text = chance(25) ? "-" : ""
        if chance(20) {
            text += "0"
        } else {
            let length = chance(5) ? 15 + below(330) : 1 + below(12)
            text += String(1 + below(9)) + digits(length - 1)
        }
        if chance(30) { text += "." + digits(1 + below(chance(10) ? 30 : 4)) }
        if chance(25) {
            text += pick(["e", "E"]) + pick(["", "+", "-"])
            text += chance(15) ? String(300 + below(700)) : digits(1 + below(3))
        }
        return Array(text.utf8)
    }

    // MARK: Bulk lines

    static let fieldNames = [
        "custom_id", "agent", "session", "input", "priority", "run_at", "max_attempts", "metadata", "max_cost_usd",
        "max_tokens_total", "method", "url", "body",
    ]

    mutating func bulkLine() -> [UInt8] {
        var fields: [(String, [UInt8])] = []
        if chance(10) {
            // The OpenAI Batch API shape.
            let content: [UInt8] = chance(80) ? string() : value(depth: 3)
            let message = Array(#"{"role":"\#(pick(["user", "system", "assistant"]))","content":"#.utf8) + content + [UInt8(ascii: "}")]
            fields.append(("custom_id", string()))
            fields.append(("method", Array("\"POST\"".utf8)))
            fields.append(("url", Array(pick(["\"/v1/chat/completions\"", "\"/v1/embeddings\"", "1"]).utf8)))
            fields.append(("body", Array(#"{"model":"m","messages":["#.utf8) + message + Array("]}".utf8)))
        } else {
            if chance(95) { fields.append(("input", chance(90) ? string() : value(depth: 2))) }
            for name in ["custom_id", "agent", "session"] where chance(40) {
                fields.append((name, chance(85) ? string() : value(depth: 2)))
            }
            for name in ["priority", "max_attempts", "max_tokens_total", "max_cost_usd"] where chance(20) {
                fields.append((name, chance(80) ? number() : value(depth: 2)))
            }
            if chance(20) {
                let times = ["\"2026-11-21T15:00:00Z\"", "\"2026-11-21T15:00:00.123+02:00\"", "\"2026-13-40T99:00:00Z\"", "\"yesterday\""]
                fields.append(("run_at", chance(50) ? Array(pick(times).utf8) : number()))
            }
            if chance(20) { fields.append(("metadata", chance(80) ? object(depth: 1) : value(depth: 2))) }
            if chance(5) { fields.append((chance(50) ? "extra" : pick(Self.fieldNames), value(depth: 2))) }
        }
        if fields.count > 1, chance(30) { fields.swapAt(0, below(fields.count)) }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, field) in fields.enumerated() {
            if index > 0 { out += Array((chance(80) ? ", " : ",").utf8) }
            out += Array("\"\(field.0)\":".utf8) + whitespace() + field.1
        }
        return out + [UInt8(ascii: "}")]
    }

    // MARK: Edge cases

    private mutating func edgeCase() -> [UInt8] {
        switch below(10) {
        case 0:
            // Nesting around the scanner's limit of 64 levels (Foundation's is 512).
            let levels = 55 + below(20)
            let open = (0..<levels).map { _ in chance(50) ? "[" : "{\"k\":" }
            let close = open.reversed().map { $0 == "[" ? "]" : "}" }
            return Array(("{\"a\":" + open.joined() + "1" + close.joined() + "}").utf8)
        case 1: return Array("{\"a\":\(pick(["1e308", "1.7976931348623157e308", "1.8e308", "1e309", "-1e999", "1e-400", "4.9e-324", "2e-324"]))}".utf8)
        case 2: return [0xEF, 0xBB, 0xBF] + object(depth: 0)
        case 3: return Array(pick(["{\"a\":1,}", "{\"a\":[1,]}", "{,}", "{\"a\":[,]}", "{\"a\" 1}", "{\"a\":}", "{\"a\"}", "{}"]).utf8)
        case 4: return object(depth: 0).flatMap { [$0, 0] }   // UTF-16LE-looking
        case 5: return Array("{\"input\":\"\(pick(["\\ud800", "\\udfff", "\\ud800\\u0041", "\\ud83d\\ude00", "\\u0000", "\\uFFFF"]))\"}".utf8)
        case 6: return Array("{\"a\":\"".utf8) + [pick([0xC0, 0xC1, 0xF5, 0xFF, 0x80, 0xED])] + Array("\"}".utf8)
        case 7: return Array("{\"input\":\"x\",\"priority\":\(pick(["9223372036854775807", "9223372036854775808", "-9223372036854775809", "1e15", "1.0", "-0", "1e2"]))}".utf8)
        case 8: return Array(pick(["", " ", "{", "}", "\"", "[]", "[{}]", "null", "\"{}\"", "0", "{}{}", "{} {}", "{}x"]).utf8)
        default: return Array("{\"a\":\"".utf8) + (0..<(1 + below(4))).flatMap { _ in Array(String(pick(["\\", "\\\\", "\\\"", "\\u12", "\\x"])).utf8) } + Array("\"}".utf8)
        }
    }

    // MARK: Mutations

    private static let interestingBytes: [UInt8] = Array("\"\\{}[],: e-.0u+/".utf8) + [
        0x00, 0x01, 0x08, 0x09, 0x0A, 0x0D, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF,
    ]
    private static let interestingSequences: [[UInt8]] = [
        Array("\\u".utf8), Array("\\ud800".utf8), Array("\\udc00".utf8), Array("\\".utf8), Array("\"".utf8), Array("\",\"".utf8),
        Array("}".utf8), Array("]".utf8), Array("{".utf8), Array("[".utf8), Array(",".utf8), Array("1e999".utf8), Array("-".utf8),
        [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0xEF, 0xBB, 0xBF], [0xF0, 0x9F, 0x98, 0x80],
        [0xC3, 0xA9], [0x00], Array("null".utf8), Array("\"input\":".utf8),
    ]

    private mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else {
            bytes = pick(Self.interestingSequences)
            return
        }
        let at = below(bytes.count)
        switch below(9) {
        case 0: bytes[at] ^= 1 << UInt8(below(8))
        case 1: bytes[at] = pick(Self.interestingBytes)
        case 2: bytes.insert(pick(Self.interestingBytes), at: below(bytes.count + 1))
        case 3: bytes.insert(contentsOf: pick(Self.interestingSequences), at: below(bytes.count + 1))
        case 4: bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(4)))
        case 5: bytes.removeSubrange(below(bytes.count + 1)...)   // truncation
        case 6:
            let end = min(bytes.count, at + 1 + below(8))
            bytes.insert(contentsOf: bytes[at..<end], at: below(bytes.count + 1))
        case 7: bytes[at] = UInt8(truncatingIfNeeded: below(256))
        default:
            let other = below(bytes.count)
            bytes.swapAt(at, other)
        }
    }
}
