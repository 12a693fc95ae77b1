import AgentQ
import ArgumentParser

/// Checks a session ID or agent name given on the command line, as a usage error (exit 64).
///
/// ```swift
/// func validate() throws { try validateName(agent, as: .agent) }
/// ```
/// - throws: `ValidationError` with ``AgentQ/Name``'s sentence, the name escaped.
func validateName(_ text: String, as kind: Name.Kind) throws {
    if let problem = Name.problem(with: text, as: kind) { throw ValidationError(problem) }
}
