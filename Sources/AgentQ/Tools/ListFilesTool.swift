import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `list_files {path?}`: a directory's entries, sorted, one per line, directories ending in `/`.
///
/// ```swift
/// let output = try ListFilesTool().run(arguments: [:], context: context)   // "notes.txt\nsrc/"
/// ```
public struct ListFilesTool: AgentTool {
    /// A directory with more entries than this is cut, with a marker, to keep the conversation small.
    public static let maximumEntries = 2000

    public init() {}

    public var name: String { "list_files" }

    public var description: String {
        "List the entries of a directory in the workspace (default: the workspace itself; /workspace/… paths work too), sorted, "
            + "one per line; directories end with '/'."
    }

    public var parametersSchema: String {
        #"{"type":"object","properties":{"path":{"type":"string","description":"The directory to list, relative to the workspace. Defaults to the workspace."}},"additionalProperties":false}"#
    }

    /// - throws: only `JobCancelled` when the token fired; every other problem is an isError output.
    public func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput {
        try context.token.checkCancelled()
        do {
            let rawPath = try ToolArguments(arguments).optionalString("path") ?? "."
            let path = try WorkspacePath(argument: rawPath, workspace: context.workspace)
            let location = try WorkspaceLocation(path, workspace: context.workspace, creatingDirectories: false, noun: "directory")
            // Byte order, so the listing is the same on every machine and locale.
            let sorted = try WorkspaceFileIO.entries(at: location).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            var lines = sorted.prefix(Self.maximumEntries).map { $0.isDirectory ? $0.name + "/" : $0.name }
            if sorted.count > Self.maximumEntries {
                lines.append("[listing truncated: showed \(Self.maximumEntries) of \(sorted.count) entries]")
            }
            return ToolOutput(content: lines.joined(separator: "\n"))
        } catch let problem as ToolProblem {
            return problem.output
        }
    }
}
