import AgentQ
import ArgumentParser
import Foundation
import JobQueue

@main
struct AgentQCommand: ParsableCommand {
    // Every command gives its commandName: ArgumentParser would otherwise derive each one from
    // the type's name at every start, a reflective cast that scans all the binary's protocol
    // conformances once per command type (a quarter of the CPU time of a `jobs list`).
    static let configuration = CommandConfiguration(
        commandName: "agentq",
        abstract: "Run LLM agent prompts as durable jobs: submit, work, inspect, cancel.",
        discussion: """
            State lives in --home DIR, else $AGENTQ_HOME, else ~/.agentq: the SQLite database,
            results/<job_id>.json for every finished job, and the agents' workspaces. With
            --database postgres://… (or $AGENTQ_DATABASE_URL) the queue's state lives in PostgreSQL
            instead, shared by every host pointed at it; results and workspaces stay in the home.
            """,
        subcommands: [
            Submit.self, Worker.self, Jobs.self, Batch.self, Agents.self, Sessions.self, Run.self, Schedules.self, Prune.self,
            Stats.self, Config.self, Serve.self, Migrate.self,
        ]
    )
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The state directory (default: $AGENTQ_HOME, else ~/.agentq).", valueName: "dir"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp(
        "Keep the state in this PostgreSQL database, shared by every host pointed at it (default: $AGENTQ_DATABASE_URL, else SQLite in the home).",
        valueName: "postgres://user@host:5432/db"))
    var database: String?

    /// Opens the home directory and the database, turning set-up errors (a bad URL, a server
    /// that cannot be reached) into one clear sentence that never shows the URL's password.
    func openQueue() throws -> AgentQueue {
        try reportingErrors {
            try AgentQueue(home: AgentQHome.resolve(explicit: home), database: QueueDatabaseChoice.resolve(explicit: database))
        }
    }
}

/// Runs `body`; an agentq error is printed as `agentq: message` on stderr and exits 1 (64 for
/// a bad name, a usage error like the ones ArgumentParser reports).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as AgentQError where error.code == .invalidName {
        Terminal.error(error.message)
        throw ExitCode.validationFailure
    } catch let error as AgentQError {
        Terminal.error(error.message)
    } catch let error as StoreError {
        Terminal.error(error.message)
    } catch let error where StoreError(translating: error) != nil {
        // Every store translates its SQLite errors; this is the net under a path that forgot.
        Terminal.error(StoreError(translating: error)?.message ?? "\(error)")
    } catch let error as SubmitRejected {
        Terminal.error(error.description)
    }
    throw ExitCode.failure
}
