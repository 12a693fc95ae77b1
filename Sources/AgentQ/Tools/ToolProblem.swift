/// A problem the model caused or can fix, on its way to becoming an isError ``ToolOutput``.
///
/// Tools throw it internally so the happy path reads straight; `run` turns it into the result.
///
/// ```swift
/// throw ToolProblem("path '../x' is outside the workspace")
/// ```
struct ToolProblem: Error, Sendable {
    var message: String

    init(_ message: String) {
        self.message = message
    }

    var output: ToolOutput { ToolOutput(content: message, isError: true) }
}
