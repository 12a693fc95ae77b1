import Foundation

/// `edit_file {path, old_string, new_string}`: replaces the one exact occurrence of `old_string`.
///
/// Requiring a unique match keeps the model from editing a place it did not mean; it can
/// include more surrounding lines to make the match unique.
///
/// ```swift
/// let output = try EditFileTool().run(
///     arguments: ["path": .string("a.txt"), "old_string": .string("red"), "new_string": .string("blue")],
///     context: context)
/// ```
public struct EditFileTool: AgentTool {
    public init() {}

    public var name: String { "edit_file" }

    public var description: String {
        "Replace one exact occurrence of old_string with new_string in a UTF-8 file in the workspace "
            + "(paths relative to it, or starting with /workspace/). "
            + "old_string must match exactly once (whitespace included); add surrounding lines to make it unique."
    }

    public var parametersSchema: String {
        #"{"type":"object","properties":{"path":{"type":"string","description":"The file to edit, relative to the workspace."},"old_string":{"type":"string","description":"The exact text to replace; it must occur exactly once."},"new_string":{"type":"string","description":"The text to put in its place."}},"required":["path","old_string","new_string"],"additionalProperties":false}"#
    }

    /// - throws: only `JobCancelled` when the token fired; every other problem is an isError output.
    public func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput {
        try context.token.checkCancelled()
        do {
            let arguments = ToolArguments(arguments)
            let rawPath = try arguments.requiredString("path")
            let oldString = try arguments.requiredString("old_string")
            let newString = try arguments.requiredString("new_string")
            guard !oldString.isEmpty else { throw ToolProblem("argument 'old_string' must not be empty") }
            let path = try WorkspacePath(argument: rawPath, workspace: context.workspace)
            // Read and written through the same walked directory, so both touch the same file.
            let location = try WorkspaceLocation(path, workspace: context.workspace, creatingDirectories: false, noun: "file")
            let file = try WorkspaceFileIO.readText(at: location)
            // Bytes, not Characters: "exact" must not fold canonically equivalent Unicode.
            let haystack = Array(file.text.utf8)
            let needle = Array(oldString.utf8)
            let matches = Self.occurrences(of: needle, in: haystack)
            guard matches.count == 1, let start = matches.first else {
                let problem = matches.isEmpty ? "not found" : "matches \(matches.count) times"
                throw ToolProblem("old_string \(problem) in '\(path.argument)'; it must match exactly once")
            }
            var edited = haystack[..<start]
            edited.append(contentsOf: newString.utf8)
            edited.append(contentsOf: haystack[(start + needle.count)...])
            try WorkspaceFileIO.writeAtomically(Data(edited), to: location)
            return ToolOutput(content: "edited \(location.relative): replaced 1 occurrence")
        } catch let problem as ToolProblem {
            return problem.output
        }
    }

    /// Start offsets of the non-overlapping occurrences of `needle`.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) {
                found.append(index)
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }
}
