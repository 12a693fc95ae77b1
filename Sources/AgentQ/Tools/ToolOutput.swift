/// What a tool returns to the model. Errors are results marked isError, never thrown.
///
/// ```swift
/// return ToolOutput(content: "file 'notes.txt' does not exist", isError: true)
/// ```
public struct ToolOutput: Sendable, Hashable {
    /// The text the model sees as the tool's result.
    public var content: String
    /// Whether the call failed; providers mark such results so the model can correct itself.
    public var isError: Bool

    public init(content: String, isError: Bool = false) {
        self.content = content
        self.isError = isError
    }
}
