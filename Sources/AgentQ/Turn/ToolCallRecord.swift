/// One tool call of a turn, as its result file and `runStream` report it.
public struct ToolCallRecord: Sendable, Hashable {
    public var id: String
    public var name: String
    /// The arguments as the model wrote them (JSON text, possibly invalid).
    public var arguments: String
    /// The start of the tool's result.
    public var resultSummary: String
    public var durationMilliseconds: Int
    public var isError: Bool

    public init(id: String, name: String, arguments: String, resultSummary: String, durationMilliseconds: Int, isError: Bool) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.resultSummary = resultSummary
        self.durationMilliseconds = durationMilliseconds
        self.isError = isError
    }

    static func summary(of content: String) -> String {
        content.count <= 500 ? content : String(content.prefix(500)) + "…"
    }

    var jsonText: String {
        var json = JSONText()
        json.object {
            $0.field("id", id)
            $0.field("name", name)
            $0.field("arguments", arguments)
            $0.field("result", resultSummary)
            $0.field("duration_ms", durationMilliseconds)
            $0.field("is_error", raw: isError ? "true" : "false")
        }
        return json.text
    }
}
