import Foundation

/// `read_file {path}`: the text of a UTF-8 file in the workspace, capped at 256 KiB.
///
/// ```swift
/// let output = try ReadFileTool().run(arguments: ["path": .string("notes.txt")], context: context)
/// ```
public struct ReadFileTool: AgentTool {
    /// Files longer than this are cut, with a marker saying so, to keep the conversation small.
    public static let maximumBytes = 256 * 1024

    public init() {}

    public var name: String { "read_file" }

    public var description: String {
        "Read a UTF-8 text file in the workspace. Paths are relative to the workspace (or start with /workspace/). "
            + "Files over 256 KiB are truncated with a marker."
    }

    public var parametersSchema: String {
        #"{"type":"object","properties":{"path":{"type":"string","description":"The file to read, relative to the workspace."}},"required":["path"],"additionalProperties":false}"#
    }

    /// - throws: only `JobCancelled` when the token fired; every other problem is an isError output.
    public func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput {
        try context.token.checkCancelled()
        do {
            let path = try WorkspacePath(
                argument: try ToolArguments(arguments).requiredString("path"), workspace: context.workspace)
            let location = try WorkspaceLocation(path, workspace: context.workspace, creatingDirectories: false, noun: "file")
            let file = try WorkspaceFileIO.readText(at: location, limit: Self.maximumBytes)
            guard file.truncated else { return ToolOutput(content: file.text) }
            let separator = file.text.hasSuffix("\n") || file.text.isEmpty ? "" : "\n"
            return ToolOutput(
                content: file.text + separator
                    + "[file truncated: showed the first \(file.text.utf8.count) of \(file.totalBytes) bytes]")
        } catch let problem as ToolProblem {
            return problem.output
        }
    }
}
