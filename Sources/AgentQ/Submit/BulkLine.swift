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

    static let ownFields: Set<String> = [
        "custom_id", "agent", "session", "input", "priority", "run_at", "max_attempts", "metadata",
    ]
    static let batchAPIFields: Set<String> = ["custom_id", "method", "url", "body"]

    /// Decodes one line (without its newline).
    /// - throws: ``BulkLineError`` saying what is wrong with the line.
    public static func decode(_ bytes: Slice<UnsafeRawBufferPointer>, lineNumber: Int) throws -> BulkLine {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw BulkLineError("invalid UTF-8") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        } catch {
            throw BulkLineError("not valid JSON")
        }
        guard let fields = object as? [String: Any] else { throw BulkLineError("expected a JSON object") }
        var line = BulkLine(lineNumber: lineNumber, input: "")
        line.customID = try string(fields, "custom_id")
        if fields["body"] != nil || fields["method"] != nil || fields["url"] != nil {
            try rejectUnknown(fields, allowed: batchAPIFields)
            line.input = try batchAPIInput(fields)
            return line
        }
        try rejectUnknown(fields, allowed: ownFields)
        guard let input = fields["input"] else { throw BulkLineError("missing \"input\"") }
        guard let text = input as? String else { throw BulkLineError("\"input\" must be a string") }
        guard !text.isEmpty else { throw BulkLineError("\"input\" is empty") }
        line.input = text
        line.agent = try string(fields, "agent")
        line.session = try string(fields, "session")
        line.priority = try integer(fields, "priority", minimum: nil)
        line.maxAttempts = try integer(fields, "max_attempts", minimum: 1)
        if let runAt = fields["run_at"], !(runAt is NSNull) {
            line.runAt = try timestamp(runAt)
        }
        if let metadata = fields["metadata"], !(metadata is NSNull) {
            guard metadata is [String: Any],
                let data = try? JSONSerialization.data(withJSONObject: metadata, options: [.sortedKeys, .withoutEscapingSlashes])
            else { throw BulkLineError("\"metadata\" must be an object") }
            line.metadata = String(decoding: data, as: UTF8.self)
        }
        return line
    }

    private static func rejectUnknown(_ fields: [String: Any], allowed: Set<String>) throws {
        if let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw BulkLineError("unknown field \"\(unknown)\" (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    private static func string(_ fields: [String: Any], _ name: String) throws -> String? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw BulkLineError("\"\(name)\" must be a string") }
        guard !text.isEmpty else { throw BulkLineError("\"\(name)\" is empty") }
        return text
    }

    private static func integer(_ fields: [String: Any], _ name: String, minimum: Int?) throws -> Int? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !isBoolean(number), number.doubleValue.rounded() == number.doubleValue,
            abs(number.doubleValue) < 1e15
        else { throw BulkLineError("\"\(name)\" must be a whole number") }
        let integer = number.intValue
        if let minimum, integer < minimum { throw BulkLineError("\"\(name)\" must be at least \(minimum)") }
        return integer
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private static func timestamp(_ value: Any) throws -> Timestamp {
        if let text = value as? String, let time = Timestamp(iso8601: text) { return time }
        if let number = value as? NSNumber, !isBoolean(number) {
            return Timestamp(milliseconds: Int64((number.doubleValue * 1000).rounded()))
        }
        throw BulkLineError("\"run_at\" must be an RFC 3339 time (2026-11-21T15:00:00Z) or Unix seconds")
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
