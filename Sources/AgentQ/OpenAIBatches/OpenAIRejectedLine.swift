/// A valid request line of an OpenAI batch that no agent can run (`model_not_found`): it goes
/// to the batch's error file while the other lines run.
///
/// ```swift
/// OpenAIRejectedLine(line: 4, customID: "q4", model: "gpt-4o")
/// ```
public struct OpenAIRejectedLine: Sendable, Hashable {
    public var line: Int
    public var customID: String
    public var model: String?

    public init(line: Int, customID: String, model: String?) {
        self.line = line
        self.customID = customID
        self.model = model
    }
}
