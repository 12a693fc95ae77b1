import Foundation

/// `write_file {path, content}`: creates or replaces a file in the workspace, atomically.
///
/// ```swift
/// let output = try WriteFileTool().run(
///     arguments: ["path": .string("notes.txt"), "content": .string("hello")], context: context)
/// // "wrote 5 bytes to notes.txt"
/// ```
public struct WriteFileTool: AgentTool {
    public init() {}

    public var name: String { "write_file" }

    public var description: String {
        "Create or overwrite a file in the workspace with the given content. "
            + "Missing parent directories are created. Paths are relative to the workspace (or start with /workspace/)."
    }

    public var parametersSchema: String {
        #"{"type":"object","properties":{"path":{"type":"string","description":"The file to write, relative to the workspace."},"content":{"type":"string","description":"The complete new content of the file."}},"required":["path","content"],"additionalProperties":false}"#
    }

    /// - throws: only `JobCancelled` when the token fired; every other problem is an isError output.
    public func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput {
        try context.token.checkCancelled()
        do {
            let arguments = ToolArguments(arguments)
            let rawPath = try arguments.requiredString("path")
            let content = try arguments.requiredString("content")
            let path = try WorkspacePath(argument: rawPath, workspace: context.workspace)
            let location = try WorkspaceLocation(path, workspace: context.workspace, creatingDirectories: true, noun: "file")
            let data = Data(content.utf8)
            try WorkspaceFileIO.writeAtomically(data, to: location)
            return ToolOutput(content: "wrote \(data.count) bytes to \(location.relative)")
        } catch let problem as ToolProblem {
            return problem.output
        }
    }
}
