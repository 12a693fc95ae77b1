import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Config: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Show and change the home's settings (the retention policy).",
            discussion: """
                Keys: retention.finished (finished jobs), retention.sessions (ended and timed-out
                sessions), retention.results (result files), each an AGE like 14d, 12h, 30m. Workers
                apply them at most once an hour. Unset: kept forever.
                """,
            subcommands: [Get.self, Set.self, Unset.self, List.self])
    }
}

extension AgentQCommand.Config {
    /// Checks a key against the known settings.
    static func key(_ text: String) throws -> RetentionPolicy.Key {
        guard let key = RetentionPolicy.Key(rawValue: text) else {
            throw ValidationError(
                "unknown setting '\(text)': one of \(RetentionPolicy.Key.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return key
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a setting's value (exit 1 when unset).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key, e.g. retention.finished.") var key: String

        func validate() throws { _ = try AgentQCommand.Config.key(key) }

        func run() throws {
            let queue = try global.openQueue()
            guard let value = try reportingErrors({ try queue.settings.value(key) }) else {
                Terminal.error("\(key) is not set (kept forever)")
                throw ExitCode.failure
            }
            Terminal.out(value)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Set a setting, e.g. `config set retention.finished 14d`.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key, e.g. retention.finished.") var key: String
        @Argument(help: "An AGE: 30m, 12h, 7d.") var value: String

        func validate() throws {
            let key = try AgentQCommand.Config.key(key)
            do { _ = try RetentionAge(parsing: value, option: key.rawValue) } catch let error as AgentQError {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            let queue = try global.openQueue()
            try reportingErrors { try queue.settings.set(key, value.trimmingCharacters(in: .whitespaces)) }
        }
    }

    struct Unset: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unset", abstract: "Remove a setting (keep forever again).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key, e.g. retention.finished.") var key: String

        func validate() throws { _ = try AgentQCommand.Config.key(key) }

        func run() throws {
            let queue = try global.openQueue()
            try reportingErrors { _ = try queue.settings.unset(key) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Print every setting as KEY VALUE.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let queue = try global.openQueue()
            let settings = try reportingErrors { try queue.settings.all() }
            for (key, value) in settings where RetentionPolicy.Key(rawValue: key) != nil { Terminal.out("\(key) \(value)") }
        }
    }
}
