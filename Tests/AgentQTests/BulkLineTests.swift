import AgentQ
import Foundation
import JobQueue
import Testing

/// Decodes one line given as bytes.
func decodeLine(_ bytes: [UInt8], lineNumber: Int = 1) throws -> BulkLine {
    try bytes.withUnsafeBytes { buffer in try BulkLine.decode(buffer[...], lineNumber: lineNumber) }
}

func decodeLine(_ text: String, lineNumber: Int = 1) throws -> BulkLine {
    try decodeLine(Array(text.utf8), lineNumber: lineNumber)
}

/// The reason a line is rejected, or nil when it is accepted.
func rejection(_ text: String) -> String? {
    rejection(Array(text.utf8))
}

func rejection(_ bytes: [UInt8]) -> String? {
    do {
        _ = try decodeLine(bytes)
        return nil
    } catch let error as BulkLineError {
        return error.reason
    } catch {
        return "unexpected error: \(error)"
    }
}

@Suite("Bulk lines")
struct BulkLineTests {
    @Test("agentq's own format with every field")
    func ownFormatAllFields() throws {
        let line = try decodeLine(#"""
            {"custom_id":"req-1","agent":"writer","session":"chat-9","input":"Hello there","priority":7,"run_at":"2026-11-21T15:00:00Z","max_attempts":5,"metadata":{"z":1,"a":"b","nested":{"k":[1,2]}}}
            """#, lineNumber: 12)
        #expect(line.lineNumber == 12)
        #expect(line.customID == "req-1")
        #expect(line.agent == "writer")
        #expect(line.session == "chat-9")
        #expect(line.input == "Hello there")
        #expect(line.priority == 7)
        #expect(line.runAt == Timestamp(milliseconds: 1_795_273_200_000))
        #expect(line.maxAttempts == 5)
        // The metadata is kept as JSON text of the same object.
        let metadata = try #require(line.metadata)
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any])
        #expect(parsed.count == 3)
        #expect(parsed["z"] as? Int == 1)
        #expect(parsed["a"] as? String == "b")
        #expect((parsed["nested"] as? [String: Any])?["k"] as? [Int] == [1, 2])
    }

    @Test("JSON escapes in strings decode exactly")
    func escapes() throws {
        let line = try decodeLine(#"{"input":"a\"b\\c\/d\n\t\r\b\f \u00e9\u4e16 \ud83d\ude80 raw ü€","custom_id":"\u0041\u0001z"}"#)
        #expect(line.input == "a\"b\\c/d\n\t\r\u{8}\u{C} é世 🚀 raw ü€")
        #expect(line.customID == "A\u{1}z")
        // Escaped keys name the same fields.
        #expect(try decodeLine(#"{"in\u0070ut":"x","pri\u006Fr\u0069ty":4}"#).priority == 4)
        // Whitespace between tokens is fine.
        #expect(try decodeLine(" \t{ \"input\" :\t\"x\" , \"priority\" : -2 }  ").priority == -2)
    }

    @Test("a NUL character (\\u0000) is refused, naming its field, rather than cut off in storage")
    func nulCharacter() {
        let expected = "contains a NUL character (\\u0000), which agentq cannot store"
        #expect(rejection(#"{"input":"before\u0000after"}"#) == "\"input\" \(expected)")
        #expect(rejection(#"{"input":"x","custom_id":"a\u0000"}"#) == "\"custom_id\" \(expected)")
        #expect(rejection(#"{"custom_id":"c","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"a\u0000b"}]}}"#)
            == "\"body\" \(expected)")
        // Escaped in metadata, it is JSON text and stays as written.
        #expect(rejection(#"{"input":"x","metadata":{"k":"a\u0000b"}}"#) == nil)
    }

    @Test("malformed JSON is rejected, not half-read")
    func strictJSON() {
        let malformed = [
            #"{"input":"x",}"#,
            #"{"input":"x"} {"input":"y"}"#,
            #"{"input":"x"}}"#,
            #"{"input":'x'}"#,
            #"{input:"x"}"#,
            #"{"input":"x\q"}"#,
            #"{"input":"x\u12"}"#,
            #"{"input":"\ud800"}"#,
            #"{"input":"\udc00 low first"}"#,
            #"{"input":"x","priority":01}"#,
            #"{"input":"x","priority":-}"#,
            #"{"input":"x","priority":1.}"#,
            #"{"input":"x","priority":.5}"#,
            #"{"input":"x","priority":+1}"#,
            #"{"input":"x","priority":NaN}"#,
            #"{"input":"x","metadata":{"a":tru}}"#,
            #"{"input":"x","metadata":{"a":1,}}"#,
            #"{"input":"x","metadata":{"a" 1}}"#,
            #"{"input":"x","metadata":[1 2]}"#,
            #"{"input":"x","agent":nul}"#,
            "{\"input\":\"tab\there\"}",
            #"{"input":"unterminated}"#,
            #"{"input""#,
            "{",
        ]
        for text in malformed {
            let reason = rejection(text)
            #expect(reason?.hasPrefix("not valid JSON") == true, "\(text) gave \(reason ?? "no error")")
        }
    }

    @Test("deeply nested metadata is rejected, not a crash")
    func deepNesting() {
        let depth = 100_000
        let text = #"{"input":"x","metadata":"# + String(repeating: #"{"a":"#, count: depth) + "1"
            + String(repeating: "}", count: depth) + "}"
        #expect(rejection(text)?.hasPrefix("not valid JSON") == true)
    }

    @Test("only input is required; optional fields may be null")
    func minimal() throws {
        let line = try decodeLine(#"{"input":"just this"}"#)
        #expect(line.input == "just this")
        #expect(line.customID == nil)
        #expect(line.agent == nil)
        #expect(line.session == nil)
        #expect(line.priority == nil)
        #expect(line.runAt == nil)
        #expect(line.maxAttempts == nil)
        #expect(line.metadata == nil)

        let nulls = try decodeLine(
            #"{"input":"x","custom_id":null,"agent":null,"priority":null,"run_at":null,"metadata":null}"#)
        #expect(nulls.customID == nil && nulls.agent == nil && nulls.priority == nil && nulls.runAt == nil)
        #expect(nulls.metadata == nil)
    }

    @Test("run_at as RFC 3339 with an offset and fraction, or as Unix seconds")
    func runAtForms() throws {
        #expect(try decodeLine(#"{"input":"x","run_at":"2026-11-21T16:00:00.5+01:00"}"#).runAt
            == Timestamp(milliseconds: 1_795_273_200_500))
        #expect(try decodeLine(#"{"input":"x","run_at":1700000000}"#).runAt
            == Timestamp(milliseconds: 1_700_000_000_000))
        #expect(try decodeLine(#"{"input":"x","run_at":1700000000.25}"#).runAt
            == Timestamp(milliseconds: 1_700_000_000_250))
    }

    @Test("negative and large priorities are whole numbers too")
    func priorities() throws {
        #expect(try decodeLine(#"{"input":"x","priority":-4}"#).priority == -4)
        #expect(try decodeLine(#"{"input":"x","priority":1000000}"#).priority == 1_000_000)
    }

    @Test("integers read without a string give what the string reading gave, at and past 15 digits")
    func integerFastPathMatchesStrings() throws {
        for text in ["0", "-0", "7", "-4", "999999999999999", "-999999999999999", "1000000000000000",
                     "9223372036854775807", "-9223372036854775808"] {
            let line = try decodeLine(#"{"input":"x","priority":\#(text)}"#)
            #expect(line.priority == Int(text), "priority \(text)")
        }
        for text in ["0", "-0", "7", "999999999999999", "1000000000000000", "12345678901234567890"] {
            let cost = try #require(try decodeLine(#"{"input":"x","max_cost_usd":\#(text)}"#).maxCostUSD)
            let expected = try #require(Double(text))
            #expect(cost == expected && cost.sign == expected.sign, "cost \(text)")
        }
        #expect(rejection(#"{"input":"x","priority":9223372036854775808}"#) == "\"priority\" must be a whole number")
        #expect(try decodeLine(#"{"input":"x","priority":1e3}"#).priority == 1000)
        #expect(try decodeLine(#"{"input":"x","priority":-7.0}"#).priority == -7)
    }

    @Test("OpenAI Batch API format: the last user message is the input")
    func batchAPIString() throws {
        let line = try decodeLine(#"""
            {"custom_id":"request-1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"first question"},{"role":"assistant","content":"an answer"},{"role":"user","content":"second question"}],"max_tokens":100}}
            """#, lineNumber: 3)
        #expect(line.lineNumber == 3)
        #expect(line.customID == "request-1")
        #expect(line.input == "second question")
        #expect(line.agent == nil)
        #expect(line.session == nil)
        #expect(line.priority == nil)
    }

    @Test("OpenAI Batch API format: content as an array of text parts")
    func batchAPIParts() throws {
        let line = try decodeLine(#"""
            {"custom_id":"r2","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}},{"type":"text","text":"in one line"}]}]}}
            """#)
        #expect(line.customID == "r2")
        #expect(line.input == "Describe\nin one line")
    }

    @Test("OpenAI Batch API format: bad shapes are rejected with a reason")
    func batchAPIErrors() {
        #expect(rejection(#"{"custom_id":"r","method":"POST","url":"/v1/embeddings","body":{"messages":[]}}"#)?
            .contains("/v1/embeddings") == true)
        #expect(rejection(#"{"custom_id":"r","method":"POST","url":"/v1/chat/completions","body":"x"}"#)?
            .contains("body") == true)
        #expect(rejection(#"{"custom_id":"r","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"system","content":"s"}]}}"#)?
            .contains("no user message") == true)
        #expect(rejection(#"{"custom_id":"r","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":[{"type":"image_url"}]}]}}"#)?
            .contains("no text content") == true)
        #expect(rejection(#"{"custom_id":"r","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]},"input":"y"}"#)?
            .contains("unknown field \"input\"") == true)
    }

    @Test("not JSON")
    func badJSON() {
        #expect(rejection(#"{"input": "x""#) == "not valid JSON")
        #expect(rejection("hello") == "not valid JSON")
        #expect(rejection(#"["input"]"#) == "expected a JSON object")
        #expect(rejection(#""just a string""#) == "expected a JSON object")
    }

    @Test("invalid UTF-8")
    func invalidUTF8() {
        // {"input":"a<0xFF>b"}
        let bytes: [UInt8] = [0x7B, 0x22, 0x69, 0x6E, 0x70, 0x75, 0x74, 0x22, 0x3A, 0x22, 0x61, 0xFF, 0x62, 0x22, 0x7D]
        #expect(rejection(bytes) == "invalid UTF-8")
        // A truncated multi-byte sequence.
        #expect(rejection(Array(#"{"input":""#.utf8) + [0xE2, 0x82] + Array(#""}"#.utf8)) == "invalid UTF-8")
    }

    @Test("missing, empty or non-string input")
    func inputProblems() {
        #expect(rejection(#"{"custom_id":"a"}"#) == "missing \"input\"")
        #expect(rejection(#"{}"#) == "missing \"input\"")
        #expect(rejection(#"{"input":""}"#) == "\"input\" is empty")
        #expect(rejection(#"{"input":42}"#) == "\"input\" must be a string")
        #expect(rejection(#"{"input":null}"#) == "\"input\" must be a string")
    }

    @Test("unknown fields are named")
    func unknownField() throws {
        let reason = try #require(rejection(#"{"input":"x","prompt":"y"}"#))
        #expect(reason.hasPrefix("unknown field \"prompt\""))
        #expect(reason.contains("input"))
    }

    @Test("priority must be a whole number")
    func priorityNotInteger() {
        #expect(rejection(#"{"input":"x","priority":1.5}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","priority":"high"}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","priority":"3"}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","priority":[1]}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","priority":1e300}"#) == "\"priority\" must be a whole number")
    }

    @Test("true and false are not priorities")
    func booleanPriority() {
        #expect(rejection(#"{"input":"x","priority":true}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","priority":false}"#) == "\"priority\" must be a whole number")
        #expect(rejection(#"{"input":"x","max_attempts":true}"#) == "\"max_attempts\" must be a whole number")
    }

    @Test("max_attempts must be at least 1")
    func maxAttempts() throws {
        #expect(rejection(#"{"input":"x","max_attempts":0}"#) == "\"max_attempts\" must be at least 1")
        #expect(try decodeLine(#"{"input":"x","max_attempts":1}"#).maxAttempts == 1)
    }

    @Test("bad run_at")
    func badRunAt() {
        for value in [#""tomorrow""#, #""2026-13-45T99:00:00Z""#, #""2026-11-21""#, "true", "[1]", "{}"] {
            let reason = rejection(#"{"input":"x","run_at":\#(value)}"#)
            #expect(reason?.hasPrefix("\"run_at\" must be") == true, "run_at \(value): \(reason ?? "accepted")")
        }
    }

    @Test("a run_at too large for a timestamp is rejected, not a crash")
    func hugeRunAt() async {
        // Nanoseconds since the epoch given where seconds are expected: 1.8e18 s does not fit in milliseconds.
        await #expect(processExitsWith: .success, "decoding must reject the line without trapping") {
            let reason = rejection(#"{"input":"x","run_at":1795273200000000000}"#)
            exit(reason?.hasPrefix("\"run_at\" must be") == true ? 0 : 1)
        }
        await #expect(processExitsWith: .success, "decoding must reject the line without trapping") {
            // A number beyond a double is not valid JSON (as Foundation says), whatever its field.
            let reason = rejection(#"{"input":"x","run_at":1e400}"#)
            exit(reason == "not valid JSON: the number 1e400 is too large for a double" ? 0 : 1)
        }
    }

    @Test("other typed fields")
    func otherTypes() {
        #expect(rejection(#"{"input":"x","custom_id":5}"#) == "\"custom_id\" must be a string")
        #expect(rejection(#"{"input":"x","agent":""}"#) == "\"agent\" is empty")
        #expect(rejection(#"{"input":"x","session":true}"#) == "\"session\" must be a string")
        #expect(
            rejection(#"{"input":"x","session":"../../victim"}"#)
                == #"invalid session name "../../victim" (letters, digits, . _ -; at most 128)"#)
        #expect(rejection(#"{"input":"x","agent":"a/b"}"#) == #"invalid agent name "a/b" (letters, digits, . _ -; at most 128)"#)
        #expect(rejection(#"{"input":"x","metadata":[1,2]}"#) == "\"metadata\" must be an object")
        #expect(rejection(#"{"input":"x","metadata":"text"}"#) == "\"metadata\" must be an object")
    }
}

@Suite("Bulk file parser")
struct BulkFileParserTests {
    static func summary(_ entries: [BulkFileParser.Entry]) -> [String] {
        entries.map { entry in
            switch entry {
            case .line(let line): return "\(line.lineNumber) ok \(line.input)"
            case .invalid(let invalid): return "\(invalid.line) bad \(invalid.reason)"
            }
        }
    }

    @Test("blank lines are skipped but counted; CRLF and a missing final newline are fine")
    func lineNumbers() {
        let text = "{\"input\":\"one\"}\r\n\r\n   \n{\"input\":\"two\"}\n\t\n{\"input\":\"three\"}\r\n{\"input\":\"four\"}"
        let entries = BulkFileParser.parse(Data(text.utf8), source: "f.jsonl")
        #expect(Self.summary(entries) == ["1 ok one", "4 ok two", "6 ok three", "7 ok four"])
    }

    @Test("an escaped carriage return inside the input is kept; only the line ending is trimmed")
    func crlfInsideString() {
        let text = "{\"input\":\"a\\r\"}\r\n"
        let entries = BulkFileParser.parse(Data(text.utf8), source: "f.jsonl")
        #expect(Self.summary(entries) == ["1 ok a\r"])
    }

    @Test("bad lines are reported with the source and their line number, in order")
    func invalidLines() throws {
        let text = """
            {"input":"fine"}

            {"input":
            {"input":"also fine"}
            {"prompt":"x"}
            """
        let entries = BulkFileParser.parse(Data(text.utf8), source: "prompts.jsonl")
        #expect(entries.count == 4)
        let summary = Self.summary(entries)
        #expect(summary[0] == "1 ok fine")
        #expect(summary[1] == "3 bad not valid JSON")
        #expect(summary[2] == "4 ok also fine")
        #expect(summary[3].hasPrefix("5 bad unknown field \"prompt\""))
        guard case .invalid(let invalid) = entries[1] else {
            Issue.record("line 3 should be invalid")
            return
        }
        #expect(invalid.source == "prompts.jsonl")
        #expect(invalid.description == "prompts.jsonl:3: not valid JSON")
    }

    @Test("empty and all-blank files have no entries")
    func empty() {
        #expect(BulkFileParser.parse(Data(), source: "e").isEmpty)
        #expect(BulkFileParser.parse(Data("\n\r\n  \n".utf8), source: "e").isEmpty)
    }

    @Test("many lines keep file order across parallel chunks")
    func manyLines() {
        let count = 5_000
        var text = ""
        for index in 1...count { text += "{\"input\":\"n\(index)\"}\n" }
        let entries = BulkFileParser.parse(Data(text.utf8), source: "big")
        #expect(entries.count == count)
        let expected = (1...count).map { "\($0) ok n\($0)" }
        #expect(Self.summary(entries) == expected)
    }
}
