import AgentQ
import Foundation

/// Where the CLI writes: results on stdout, messages and progress on stderr.
enum Terminal {
    static var stderrIsTTY: Bool { isatty(STDERR_FILENO) == 1 }
    static var stdoutIsTTY: Bool { isatty(STDOUT_FILENO) == 1 }

    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func err(_ text: String, newline: Bool = true) {
        FileHandle.standardError.write(Data((newline ? text + "\n" : text).utf8))
    }

    /// Prints each line of `message` as `agentq: line` on stderr. Control characters are shown
    /// escaped: an error may quote a name or a path the user (or an attacker) typed, and an
    /// escape sequence in it must not drive the terminal.
    static func error(_ message: String) {
        for line in message.split(separator: "\n", omittingEmptySubsequences: false) {
            err("agentq: " + Name.escaped(String(line), quotes: false))
        }
    }
}
