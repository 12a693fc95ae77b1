/// Maps the tool names of agent definitions to the tools that answer for them.
///
/// ```swift
/// let tools = try ToolRegistry.tools(named: agent.tools)   // e.g. ["bash", "read_file"]
/// ```
public enum ToolRegistry {
    /// Every tool agentq ships, in the order documentation lists them.
    public static let builtInNames: [String] = ["bash", "read_file", "write_file", "edit_file", "list_files"]

    /// The tools with these names, in the order given, each once.
    /// - throws: AgentQError(.invalidAgent, ...) naming an unknown tool.
    public static func tools(named names: [String]) throws -> [any AgentTool] {
        var seen = Set<String>()
        var tools: [any AgentTool] = []
        for name in names where !seen.contains(name) {
            seen.insert(name)
            tools.append(try tool(named: name))
        }
        return tools
    }

    /// - throws: AgentQError(.invalidAgent, ...) naming an unknown tool.
    static func tool(named name: String) throws -> any AgentTool {
        switch name {
        case "bash": return BashTool()
        case "read_file": return ReadFileTool()
        case "write_file": return WriteFileTool()
        case "edit_file": return EditFileTool()
        case "list_files": return ListFilesTool()
        default:
            throw AgentQError(
                .invalidAgent, "unknown tool '\(name)' (known: \(builtInNames.joined(separator: ", ")))")
        }
    }
}
