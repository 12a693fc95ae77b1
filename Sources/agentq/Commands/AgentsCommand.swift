import AgentQ
import ArgumentParser
import Foundation

extension AgentQCommand {
    struct Agents: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agents",
            abstract: "Manage agent definitions (provider, model, system prompt, tools, options).",
            subcommands: [Add.self, List.self, Show.self, Remove.self])
    }
}

extension AgentQCommand.Agents {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add", abstract: "Add or replace agents from JSON definition files.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("Definition files, such as jobs/agents/slow.json.", valueName: "file"))
        var files: [String]

        func run() throws {
            let queue = try global.openQueue()
            // Check every file before saving any, so a bad file changes nothing.
            let definitions = try reportingErrors {
                try files.map { file in
                    guard let data = FileManager.default.contents(atPath: file) else {
                        throw AgentQError(.invalidAgent, "cannot read \(file)")
                    }
                    return try AgentDefinition.parse(data, source: file)
                }
            }
            for definition in definitions {
                let replaced = try reportingErrors { try queue.agents.save(definition) }
                Terminal.out("\(replaced ? "replaced" : "added") agent '\(definition.name)' (\(definition.provider)/\(definition.model))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List agents.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array of definitions.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let agents = try reportingErrors { try queue.agents.allAgents() }
            if json {
                Terminal.out("[" + agents.map { $0.jsonText() }.joined(separator: ",\n") + "]")
                return
            }
            var table = Table("NAME", "PROVIDER", "MODEL", "TOOLS", "MAX_STEPS")
            for agent in agents {
                table.add(
                    agent.name, agent.provider, agent.model, agent.tools.isEmpty ? "-" : agent.tools.joined(separator: ","),
                    "\(agent.maxSteps)")
            }
            Terminal.out(table.text)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one agent's definition.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The agent's name.")
        var name: String

        @Flag(help: "Print the definition as compact JSON.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            guard let agent = try reportingErrors({ try queue.agents.agent(named: name) }) else {
                Terminal.error("no agent named '\(name)' (agentq agents list shows them)")
                throw ExitCode.failure
            }
            Terminal.out(agent.jsonText(pretty: !json))
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove an agent.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The agent's name.")
        var name: String

        func run() throws {
            let queue = try global.openQueue()
            guard try reportingErrors({ try queue.agents.remove(named: name) }) else {
                Terminal.error("no agent named '\(name)'")
                throw ExitCode.failure
            }
            Terminal.out("removed agent '\(name)'")
        }
    }
}
