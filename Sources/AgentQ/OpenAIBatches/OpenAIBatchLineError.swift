import Foundation

/// Why an OpenAI batch input file was refused: one entry of the batch's `errors.data`.
///
/// ```swift
/// OpenAIBatchLineError(code: "missing_custom_id", message: "\"custom_id\" is required", line: 3)
/// ```
public struct OpenAIBatchLineError: Sendable, Hashable {
    public var code: String
    public var message: String
    /// 1-based line of the input file; nil for the file as a whole.
    public var line: Int?

    public init(code: String, message: String, line: Int? = nil) {
        self.code = code
        self.message = message
        self.line = line
    }

    /// `{"code", "message", "param": null, "line"}`
    public var jsonText: String {
        var json = JSONText()
        json.object {
            $0.field("code", code)
            $0.field("message", message)
            $0.field("param", raw: nil)
            if let line { $0.field("line", line) } else { $0.field("line", raw: nil) }
        }
        return json.text
    }
}

extension OpenAIBatchLineError {
    /// A batch's `errors` as the stores keep them: a JSON array of ``jsonText`` objects.
    ///
    /// ```swift
    /// OpenAIBatchLineError.jsonList([OpenAIBatchLineError(code: "empty_file", message: "…")])   // [{"code":…}]
    /// ```
    static func jsonList(_ errors: [OpenAIBatchLineError]) -> String {
        "[" + errors.map(\.jsonText).joined(separator: ",") + "]"
    }

    /// The errors of a ``jsonList(_:)`` text; none when it is not one.
    static func list(fromJSON text: String) -> [OpenAIBatchLineError] {
        guard let items = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { return [] }
        return items.map {
            OpenAIBatchLineError(code: $0["code"] as? String ?? "invalid", message: $0["message"] as? String ?? "", line: $0["line"] as? Int)
        }
    }
}
