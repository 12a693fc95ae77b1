import AgentQ
import Foundation

/// Runs generated lines through agentq's bulk input path and Foundation's `JSONSerialization`,
/// and stops at the first line where they disagree.
///
/// On every input: ``AgentQ/JSONObjectLine`` must accept exactly when Foundation reads a JSON
/// object, except for its documented strictness (see ``stricterOnPurpose(_:_:)``);
/// ``AgentQ/BulkLine`` may refuse a valid object (a bad field) but never accept one Foundation
/// refuses, and the strings it takes must equal Foundation's; and every 64 inputs, a file of
/// the last lines through ``AgentQ/BulkFileParser`` gives each line the verdict it has alone.
///
/// ```swift
/// let report = try JSONLineFuzzer.run(seed: 7, count: 20_000)
/// print(report.count, report.inputsPerSecond)
/// ```
public enum JSONLineFuzzer {
    public struct Report: Sendable {
        public var seed: UInt64
        public var count: Int
        public var seconds: Double
        public var accepted: Int
        public var inputsPerSecond: Double { Double(count) / max(seconds, 1e-9) }
    }

    /// A line the two readers judge differently.
    public struct Disagreement: Error, CustomStringConvertible {
        public var input: [UInt8]
        public var problem: String
        public var description: String {
            let hex = input.map { String(format: "%02x", $0) }.joined(separator: " ")
            return "\(problem)\n  input (escaped): \(Self.escaped(input))\n  input (hex): \(hex)"
        }

        static func escaped(_ bytes: [UInt8]) -> String {
            bytes.map { byte in
                switch byte {
                case 0x5C: return "\\\\"
                case 0x20..<0x7F: return String(UnicodeScalar(byte))
                default: return String(format: "\\x%02x", byte)
                }
            }.joined()
        }
    }

    /// Checks `count` inputs generated from `seed`.
    /// - throws: ``Disagreement`` for the first input the readers disagree on.
    public static func run(seed: UInt64, count: Int) throws -> Report {
        var generator = JSONFuzzGenerator(seed: seed)
        var recent: [[UInt8]] = []
        var accepted = 0
        let started = DispatchTime.now().uptimeNanoseconds
        for index in 0..<count {
            let input = generator.next()
            if try check(input) { accepted += 1 }
            recent.append(input)
            if recent.count == 64 || index == count - 1 {
                try checkFile(recent, crlf: index % 128 < 64)
                recent.removeAll(keepingCapacity: true)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return Report(seed: seed, count: count, seconds: seconds, accepted: accepted)
    }

    /// Checks one line; returns whether Foundation read it as a JSON object.
    /// - throws: ``Disagreement``.
    @discardableResult
    public static func check(_ input: [UInt8]) throws -> Bool {
        let foundation = (try? JSONSerialization.jsonObject(with: Data(input))) as? [String: Any]
        let scannerError = scannerVerdict(input)
        switch (foundation != nil, scannerError) {
        case (false, nil):
            throw Disagreement(input: input, problem: "the scanner accepts a line JSONSerialization refuses")
        case (true, let error?):
            guard stricterOnPurpose(input, error) else {
                throw Disagreement(
                    input: input, problem: "the scanner refuses (\(error.reason)) a line JSONSerialization reads as an object")
            }
        default:
            break
        }
        let bulk: BulkLine? = input.withUnsafeBytes { bytes in try? BulkLine.decode(bytes[...], lineNumber: 1) }
        if let bulk {
            guard let foundation else {
                throw Disagreement(input: input, problem: "BulkLine accepts a line JSONSerialization refuses")
            }
            // The strings agentq keeps are the ones JSON says (escapes, surrogate pairs, UTF-8).
            if foundation["body"] == nil {
                let fields: [(String, String?)] = [
                    ("input", bulk.input), ("custom_id", bulk.customID), ("agent", bulk.agent), ("session", bulk.session),
                ]
                for (name, value) in fields where value != nil || foundation[name] is String {
                    guard let expected = foundation[name] as? String, let value, sameText(value, foundation: expected) else {
                        throw Disagreement(
                            input: input,
                            problem: "BulkLine read \(name) as \(String(reflecting: value)), JSONSerialization as \(String(reflecting: foundation[name]))")
                    }
                }
            }
        }
        return foundation != nil
    }

    /// Whether the scanner's string is Foundation's, scalar for scalar, with one deliberate
    /// difference: Foundation drops a U+FEFF (a byte-order mark) that starts a run of unescaped
    /// text inside a string (`"\u{FEFF}x"` reads as `"x"`), which JSON says is content; the
    /// scanner keeps it. Only U+FEFFs may be missing on Foundation's side.
    static func sameText(_ scanner: String, foundation: String) -> Bool {
        let ours = Array(scanner.unicodeScalars), theirs = Array(foundation.unicodeScalars)
        if ours == theirs { return true }
        return ours.count > theirs.count && ours.filter { $0 != "\u{FEFF}" } == theirs.filter { $0 != "\u{FEFF}" }
    }

    /// Whether the scanner refusing `input` (which Foundation reads as an object) with `error`
    /// is one of its deliberate differences, which are exactly these:
    /// - nesting deeper than 64 levels (Foundation allows 512);
    /// - text Foundation reads as UTF-16 or UTF-32 (a NUL among the first four bytes, or a
    ///   UTF-16/32 byte-order mark): bulk files are UTF-8;
    /// - a UTF-8 byte-order mark, and trailing commas before `]` or `}`, which RFC 8259 does
    ///   not allow and Foundation skips: the line without them must be accepted;
    /// - a number too large for a double under a key that comes again later in its object:
    ///   Foundation never converts the value the duplicate replaces, the scanner checks every
    ///   number. With every key made unique, Foundation must refuse the line too.
    public static func stricterOnPurpose(_ input: [UInt8], _ error: BulkLineError) -> Bool {
        if error.reason.contains("nested deeper than 64 levels") { return true }
        if error.reason.contains("too large for a double") {
            return !((try? JSONSerialization.jsonObject(with: Data(withUniqueKeys(input)))) is [String: Any])
        }
        if input.prefix(4).contains(0) || input.starts(with: [0xFE, 0xFF]) || input.starts(with: [0xFF, 0xFE]) { return true }
        var normalized = input.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(input.dropFirst(3)) : input
        normalized = withoutTrailingCommas(normalized)
        guard normalized != input else { return false }
        guard let again = scannerVerdict(normalized) else { return true }
        return stricterOnPurpose(normalized, again)
    }

    /// `input` without the commas that stand (after whitespace) right before `]` or `}`, outside strings.
    static func withoutTrailingCommas(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var inString = false, escaped = false
        for byte in input {
            if inString {
                if escaped { escaped = false } else if byte == 0x5C { escaped = true } else if byte == 0x22 { inString = false }
            } else if byte == 0x22 {
                inString = true
            } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                if let comma = output.lastIndex(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), output[comma] == UInt8(ascii: ",") {
                    output.remove(at: comma)
                }
            }
            output.append(byte)
        }
        return output
    }

    /// `input` with every object key replaced by a different one (`"k1"`, `"k2"`, …), outside strings.
    static func withUniqueKeys(_ input: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0, keys = 0
        while index < input.count {
            guard input[index] == 0x22 else {
                output.append(input[index])
                index += 1
                continue
            }
            var end = index + 1
            while end < input.count && input[end] != 0x22 { end += input[end] == 0x5C ? 2 : 1 }
            end = min(end + 1, input.count)
            var next = end
            while next < input.count && [0x20, 0x09, 0x0A, 0x0D].contains(input[next]) { next += 1 }
            if next < input.count && input[next] == UInt8(ascii: ":") {
                keys += 1
                output += Array("\"k\(keys)\"".utf8)
            } else {
                output += input[index..<end]
            }
            index = end
        }
        return output
    }

    private static func scannerVerdict(_ input: [UInt8]) -> BulkLineError? {
        input.withUnsafeBytes { bytes in
            do {
                try JSONObjectLine.validate(bytes)
                return nil
            } catch let error as BulkLineError {
                return error
            } catch {
                return BulkLineError("\(error)")
            }
        }
    }

    /// A file of `lines` (their newlines made spaces) parsed at once gives each line its own verdict.
    private static func checkFile(_ lines: [[UInt8]], crlf: Bool) throws {
        let cleaned = lines.map { $0.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 } }
        var file: [UInt8] = []
        for line in cleaned { file += line + (crlf ? [0x0D, 0x0A] : [0x0A]) }
        let entries = BulkFileParser.parse(Data(file), source: "fuzz.jsonl")
        var expected: [(line: Int, valid: Bool)] = []
        for (offset, line) in cleaned.enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            let valid = line.withUnsafeBytes { bytes in (try? BulkLine.decode(bytes[...], lineNumber: offset + 1)) != nil }
            expected.append((offset + 1, valid))
        }
        let got: [(line: Int, valid: Bool)] = entries.map { entry in
            switch entry {
            case .line(let line): return (line.lineNumber, true)
            case .invalid(let invalid): return (invalid.line, false)
            }
        }
        guard got.map(\.line) == expected.map(\.line), got.map(\.valid) == expected.map(\.valid) else {
            throw Disagreement(
                input: file,
                problem: "BulkFileParser's verdicts \(got.map { "\($0.line):\($0.valid)" }) differ from each line's own \(expected.map { "\($0.line):\($0.valid)" })")
        }
    }
}
