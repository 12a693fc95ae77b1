/// Typed access to a tool call's arguments, with errors that name the argument at fault.
///
/// ```swift
/// let path = try ToolArguments(arguments).requiredString("path")
/// ```
struct ToolArguments {
    let values: [String: JSONValue]

    init(_ values: [String: JSONValue]) {
        self.values = values
    }

    /// - throws: ``ToolProblem`` when the argument is missing or not a string.
    func requiredString(_ name: String) throws -> String {
        guard let value = values[name], value != .null else {
            throw ToolProblem("missing required argument '\(name)' (a string)")
        }
        return try string(name, value)
    }

    /// - throws: ``ToolProblem`` when the argument is present but not a string.
    func optionalString(_ name: String) throws -> String? {
        guard let value = values[name], value != .null else { return nil }
        return try string(name, value)
    }

    /// - throws: ``ToolProblem`` when the argument is present but not a number.
    func optionalNumber(_ name: String) throws -> Double? {
        guard let value = values[name], value != .null else { return nil }
        guard case .number(let number) = value else {
            throw ToolProblem("argument '\(name)' must be a number, not \(Self.kind(of: value))")
        }
        return number
    }

    private func string(_ name: String, _ value: JSONValue) throws -> String {
        guard case .string(let text) = value else {
            throw ToolProblem("argument '\(name)' must be a string, not \(Self.kind(of: value))")
        }
        return text
    }

    /// The JSON type name the model will recognise from its own call.
    static func kind(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
