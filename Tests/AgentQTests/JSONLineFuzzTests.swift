import AgentQ
import AgentQTesting
import Foundation
import Testing

/// The short run of `make fuzz` (JSONLineFuzzer): the bulk-line reader and Foundation's
/// JSONSerialization agree on generated lines; plus what the fuzzer found and the reader's
/// deliberate strictness, spelled out.
@Suite("Bulk-line reader under the fuzzer")
struct JSONLineFuzzTests {
    static func verdict(_ text: [UInt8]) -> String? {
        text.withUnsafeBytes { bytes in
            do {
                try JSONObjectLine.validate(bytes)
                return nil
            } catch {
                return (error as? BulkLineError)?.reason ?? "\(error)"
            }
        }
    }

    @Test("20,000 generated lines with a fixed seed and 20,000 with a new one: no disagreement", arguments: [1, 0])
    func shortRun(fixed: Int) throws {
        let seed = fixed == 1 ? 20_261_201 : UInt64.random(in: 0...UInt64(UInt32.max))
        let count = Int(ProcessInfo.processInfo.environment["AGENTQ_FUZZ_COUNT"] ?? "") ?? 20_000
        print("JSONLineFuzzer: seed \(seed), \(count) inputs (rerun: make fuzz FUZZ_SEED=\(seed) FUZZ_COUNT=\(count))")
        do {
            let report = try JSONLineFuzzer.run(seed: seed, count: count)
            #expect(report.count == count)
            // The generator is worth something only if both verdicts come up often.
            #expect(report.accepted > count / 10 && report.accepted < count * 9 / 10, "accepted \(report.accepted) of \(count)")
        } catch let disagreement as JSONLineFuzzer.Disagreement {
            Issue.record("seed \(seed): \(disagreement)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test("found by the fuzzer: a number beyond a double (1e999) is refused, not kept as infinity")
    func hugeNumbersAreRefused() throws {
        for line in [#"{"a":1e999}"#, #"{"a":[-1e999]}"#, #"{"input":"hi","metadata":{"x":1.8e308}}"#] {
            let reason = try #require(Self.verdict(Array(line.utf8)), "accepted: \(line)")
            #expect(reason.contains("too large"), "\(line): \(reason)")
            try JSONLineFuzzer.check(Array(line.utf8))
        }
        // Through a whole file: the line is refused, so no job's metadata holds what no reader can read back.
        let entries = BulkFileParser.parse(Data(#"{"input":"hi","metadata":{"x":1e999}}"#.utf8), source: "f.jsonl")
        guard case .invalid(let invalid) = try #require(entries.first) else {
            Issue.record("the line was accepted: \(entries)")
            return
        }
        #expect(invalid.description.hasPrefix("f.jsonl:1: not valid JSON"), "\(invalid)")
        #expect(Self.verdict(Array(#"{"a":1.7976931348623157e308,"b":1e-400}"#.utf8)) == nil)
    }

    @Test("stricter than JSONSerialization on purpose: trailing commas, byte-order marks, UTF-16, nesting past 64, overflowing duplicates")
    func deliberateDifferences() throws {
        let deep = "{\"a\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        let lines: [[UInt8]] = [
            Array(#"{"input":"hi",}"#.utf8), Array(#"{"a":[1,]}"#.utf8), [0xEF, 0xBB, 0xBF] + Array(#"{"input":"hi"}"#.utf8),
            Array(#"{"input":"hi"}"#.utf8).flatMap { [$0, 0] }, Array(deep.utf8),
            // Foundation never converts a value a later duplicate key replaces.
            Array(#"{"input":1e999,"input":"hi"}"#.utf8),
        ]
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line))) is [String: Any], "Foundation reads \(line) as an object")
            let reason = try #require(Self.verdict(line), "the scanner accepted \(line)")
            #expect(JSONLineFuzzer.stricterOnPurpose(line, BulkLineError(reason)), "\(reason)")
            try JSONLineFuzzer.check(line)
        }
        // Foundation drops a U+FEFF that starts unescaped text in a string; agentq keeps what the line says.
        let bom = "{\"input\":\"\u{FEFF}hi\"}"
        let foundation = try #require(try JSONSerialization.jsonObject(with: Data(bom.utf8)) as? [String: Any])
        #expect((foundation["input"] as? String)?.unicodeScalars.first != "\u{FEFF}")
        let parsed = BulkFileParser.parse(Data(bom.utf8), source: "f.jsonl")
        guard case .line(let line) = try #require(parsed.first) else { throw Failure("refused: \(parsed)") }
        #expect(line.input.unicodeScalars.first == "\u{FEFF}")
        try JSONLineFuzzer.check(Array(bom.utf8))
        // Anything else Foundation reads the scanner reads too: the exceptions are narrow.
        #expect(!JSONLineFuzzer.stricterOnPurpose(Array(#"{"input":"hi"}"#.utf8), BulkLineError("not valid JSON")))
        #expect(Self.verdict(Array(("{\"a\":" + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}").utf8)) == nil)
    }
}
