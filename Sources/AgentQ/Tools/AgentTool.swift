import JobQueue

/// A capability an agent's model may call by name, with a JSON object of arguments.
///
/// Tools run on worker threads. Problems the model can correct (a missing file, a bad
/// argument, a failing command) come back as a ``ToolOutput`` with `isError` set, so the turn
/// goes on; only cancellation is thrown, so the job stops.
///
/// ```swift
/// let tools = try ToolRegistry.tools(named: ["read_file"])
/// let output = try tools[0].run(arguments: ["path": .string("notes.txt")], context: context)
/// ```
public protocol AgentTool: Sendable {
    /// The name the model calls the tool by, e.g. `read_file`.
    var name: String { get }
    /// What the tool does, for the model.
    var description: String { get }
    /// JSON Schema of the arguments object, as JSON text, for providers' tool definitions.
    var parametersSchema: String { get }
    /// Runs the tool once.
    /// - throws: only `JobCancelled` (from JobQueue) when the token fired; every other problem is a ToolOutput with isError = true.
    func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput
}
