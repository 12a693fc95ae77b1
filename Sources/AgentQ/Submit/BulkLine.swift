import Foundation
import JobQueue

/// One line of a bulk prompt file, decoded and checked.
///
/// Two shapes are accepted:
/// - agentq's own: `{"custom_id"?, "agent"?, "session"?, "input", "priority"?, "run_at"?, "max_attempts"?, "metadata"?}`
/// - the OpenAI Batch API input: `{"custom_id", "method", "url", "body": {"model", "messages"}}`,
///   whose last user message becomes the input.
public struct BulkLine: Sendable, Hashable {
    public var lineNumber: Int
    public var customID: String?
    public var agent: String?
    public var session: String?
    public var input: String
    public var priority: Int?
    public var runAt: Timestamp?
    public var maxAttempts: Int?
    /// JSON text of the `metadata` object.
    public var metadata: String?
    /// This job's spend caps, overriding its agent's.
    public var maxCostUSD: Double?
    public var maxTokensTotal: Int?
    /// Whether the line had the OpenAI Batch API shape (`custom_id`, `method`, `url`, `body`).
    public var isBatchAPIRequest = false
    /// `body.model` of an OpenAI Batch API line (the OpenAI batch endpoints run the agent of that name).
    public var model: String?

    static let ownFields: Set<String> = [
        "custom_id", "agent", "session", "input", "priority", "run_at", "max_attempts", "metadata", "max_cost_usd",
        "max_tokens_total",
    ]
    static let batchAPIFields: Set<String> = ["custom_id", "method", "url", "body"]

    /// Decodes one line (without its newline).
    /// - throws: ``BulkLineError`` saying what is wrong with the line.
    public static func decode(_ bytes: Slice<UnsafeRawBufferPointer>, lineNumber: Int) throws -> BulkLine {
        let line = UnsafeRawBufferPointer(rebasing: bytes)
        guard isValidUTF8(line) else { throw BulkLineError("invalid UTF-8") }
        var result = BulkLine(lineNumber: lineNumber, input: "")
        var input: JSONLineScanner.Value?
        var unknown: [String] = []
        var isBatchAPILine = false
        var scanner = JSONLineScanner(line)
        try scanner.readObject { key, value in
            switch key {
            case "custom_id": result.customID = try string(value, key)
            case "agent": result.agent = try name(value, key, as: .agent)
            case "session": result.session = try name(value, key, as: .session)
            case "input": input = value
            case "priority": result.priority = try integer(value, key, minimum: nil)
            case "max_attempts": result.maxAttempts = try integer(value, key, minimum: 1)
            case "max_tokens_total": result.maxTokensTotal = try integer(value, key, minimum: 1)
            case "max_cost_usd":
                switch value {
                case .null: result.maxCostUSD = nil
                case .number(let cost, _) where cost >= 0 && cost.isFinite: result.maxCostUSD = cost
                default: throw BulkLineError("\"max_cost_usd\" must be a number ≥ 0")
                }
            case "run_at": result.runAt = try timestamp(value)
            case "metadata":
                switch value {
                case .null: result.metadata = nil
                case .composite(let text, isObject: true): result.metadata = text
                default: throw BulkLineError("\"metadata\" must be an object")
                }
            case "body", "method", "url": isBatchAPILine = true
            default: unknown.append(key)
            }
        }
        if isBatchAPILine { return try decodeBatchAPILine(line, lineNumber: lineNumber) }
        if let first = unknown.min() {
            throw BulkLineError(
                "unknown field \"\(first)\" (allowed: \(ownFields.sorted().joined(separator: ", ")))")
        }
        guard let input else { throw BulkLineError("missing \"input\"") }
        guard case .string(let text) = input else { throw BulkLineError("\"input\" must be a string") }
        guard !text.isEmpty else { throw BulkLineError("\"input\" is empty") }
        result.input = try storable(text, "input")
        return result
    }

    /// `text`, unless it holds a NUL character (``Swift/String/containsNUL``).
    static func storable(_ text: String, _ field: String) throws -> String {
        if text.containsNUL { throw BulkLineError("\"\(field)\" contains a NUL character (\\u0000), which agentq cannot store") }
        return text
    }

    private static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where byte >= 0x80 {
            return String(validating: bytes, as: UTF8.self) != nil
        }
        return true
    }

    private static func string(_ value: JSONLineScanner.Value, _ name: String) throws -> String? {
        switch value {
        case .null: return nil
        case .string(let text):
            guard !text.isEmpty else { throw BulkLineError("\"\(name)\" is empty") }
            return try storable(text, name)
        default: throw BulkLineError("\"\(name)\" must be a string")
        }
    }

    /// A session or agent name: it names a directory or a definition, so it must follow ``Name``'s rule.
    private static func name(_ value: JSONLineScanner.Value, _ key: String, as kind: Name.Kind) throws -> String? {
        let text = try string(value, key)
        if let text, let problem = Name.problem(with: text, as: kind) { throw BulkLineError(problem) }
        return text
    }

    private static func integer(_ value: JSONLineScanner.Value, _ name: String, minimum: Int?) throws -> Int? {
        switch value {
        case .null: return nil
        case .number(let double, let integer):
            guard let whole = integer ?? (double.rounded() == double && abs(double) < 1e15 ? Int64(double) : nil),
                let result = Int(exactly: whole)
            else { throw BulkLineError("\"\(name)\" must be a whole number") }
            if let minimum, result < minimum { throw BulkLineError("\"\(name)\" must be at least \(minimum)") }
            return result
        default: throw BulkLineError("\"\(name)\" must be a whole number")
        }
    }

    private static func timestamp(_ value: JSONLineScanner.Value) throws -> Timestamp? {
        switch value {
        case .null: return nil
        case .string(let text):
            if let time = Timestamp(iso8601: text) { return time }
        case .number(let seconds, _):
            // Beyond year 5000 is a unit mistake (milliseconds or nanoseconds given as seconds).
            if seconds.isFinite, abs(seconds) < 100_000_000_000 {
                return Timestamp(milliseconds: Int64((seconds * 1000).rounded()))
            }
        default: break
        }
        throw BulkLineError("\"run_at\" must be an RFC 3339 time (2026-11-21T15:00:00Z) or Unix seconds")
    }

    /// The OpenAI Batch API shape, rare enough to go through JSONSerialization.
    private static func decodeBatchAPILine(_ line: UnsafeRawBufferPointer, lineNumber: Int) throws -> BulkLine {
        guard let fields = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            throw BulkLineError("not valid JSON")
        }
        var result = BulkLine(lineNumber: lineNumber, input: "")
        if let customID = fields["custom_id"], !(customID is NSNull) {
            guard let text = customID as? String, !text.isEmpty else {
                throw BulkLineError("\"custom_id\" must be a non-empty string")
            }
            result.customID = try storable(text, "custom_id")
        }
        try rejectUnknown(fields, allowed: batchAPIFields)
        result.input = try storable(try batchAPIInput(fields), "body")
        result.isBatchAPIRequest = true
        result.model = (fields["body"] as? [String: Any])?["model"] as? String
        return result
    }

    private static func rejectUnknown(_ fields: [String: Any], allowed: Set<String>) throws {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw BulkLineError("unknown field \"\(unknown)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func batchAPIInput(_ fields: [String: Any]) throws -> String {
        if let url = fields["url"] as? String, url != "/v1/chat/completions" {
            throw BulkLineError("url \"\(url)\" is not supported (only /v1/chat/completions)")
        }
        guard let body = fields["body"] as? [String: Any] else { throw BulkLineError("\"body\" must be an object") }
        guard let messages = body["messages"] as? [[String: Any]] else {
            throw BulkLineError("\"body.messages\" must be an array of messages")
        }
        guard let user = messages.last(where: { $0["role"] as? String == "user" }) else {
            throw BulkLineError("\"body.messages\" has no user message")
        }
        if let text = user["content"] as? String, !text.isEmpty { return text }
        if let parts = user["content"] as? [[String: Any]] {
            let text = parts.compactMap { $0["type"] as? String == "text" ? $0["text"] as? String : nil }
                .joined(separator: "\n")
            if !text.isEmpty { return text }
        }
        throw BulkLineError("the last user message in \"body.messages\" has no text content")
    }
}

/// What is wrong with one line of a bulk file.
public struct BulkLineError: Error, Sendable, Hashable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
