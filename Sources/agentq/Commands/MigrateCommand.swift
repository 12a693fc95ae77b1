import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Migrate: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "migrate",
            abstract: "Copy this home's SQLite state into a PostgreSQL database that many hosts share.",
            discussion: """
                Copies jobs (queued and finished, with their attempts and results), batches, sessions
                with their history, agents, budgets, schedules, settings and OpenAI batch records,
                keeping their IDs. Safe to run again: what the database already holds is skipped.
                Result files, workspaces and uploaded files stay in the home. Stop this home's
                workers first; afterwards point every host at the database (AGENTQ_DATABASE_URL).
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("The PostgreSQL database to copy into (its schema is created if missing).",
                                   valueName: "postgres://user@host:5432/db"))
        var to: String

        @Flag(help: "Print a JSON object.")
        var json = false

        func validate() throws {
            if global.database != nil {
                throw ValidationError("migrate copies the home's SQLite file: give the target with --to, not --database")
            }
        }

        func run() throws {
            let report = try reportingErrors { () throws -> MigrationReport in
                let home = try AgentQHome.resolve(explicit: global.home)
                guard FileManager.default.fileExists(atPath: home.databasePath) else {
                    throw AgentQError(.invalidHome, "no SQLite database at \(home.databasePath): nothing to copy")
                }
                let source = try AgentQueue(home: home, database: .sqlite)
                let target = try AgentQueue(home: home, database: .postgres(try PostgresLocation(url: to)))
                return try PostgresImporter(source: source, target: target).run()
            }
            if json {
                var text = JSONText()
                text.object { object in
                    for table in report.tables {
                        object.field(table.name.replacingOccurrences(of: " ", with: "_")) { counts in
                            counts.field("copied", table.copied)
                            counts.field("already_there", table.alreadyThere)
                        }
                    }
                }
                Terminal.out(text.text)
            } else {
                Terminal.out(report.summary)
            }
        }
    }
}
