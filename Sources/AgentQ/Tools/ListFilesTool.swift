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
        "List the entries of a directory in the workspace (default: the workspace itself), sorted, "
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
            var info = stat()
            guard stat(path.resolved, &info) == 0 else {
                throw ToolProblem("directory '\(rawPath)' does not exist")
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw ToolProblem("'\(rawPath)' is not a directory (read_file reads files)")
            }
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: path.resolved)
            } catch {
                throw ToolProblem("cannot list '\(rawPath)': \(WorkspaceFileIO.reason(error))")
            }
            // Byte order, so the listing is the same on every machine and locale.
            let sorted = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            var lines = sorted.prefix(Self.maximumEntries).map { name in
                // lstat: a symlink to a directory is listed as the link it is, not followed.
                var entry = stat()
                let isDirectory = lstat(path.resolved + "/" + name, &entry) == 0 && (entry.st_mode & S_IFMT) == S_IFDIR
                return isDirectory ? name + "/" : name
            }
            if sorted.count > Self.maximumEntries {
                lines.append("[listing truncated: showed \(Self.maximumEntries) of \(sorted.count) entries]")
            }
            return ToolOutput(content: lines.joined(separator: "\n"))
        } catch let problem as ToolProblem {
            return problem.output
        }
    }
}
