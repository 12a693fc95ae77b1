import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Delete finished jobs, closed sessions and result files older than an age.",
            discussion: """
                AGE is a whole number and a unit: 30m, 12h, 7d (also s, w). Queued and running jobs,
                finished jobs whose result file is not written yet, and batches with unfinished jobs
                are never touched. `jobs get` of a pruned job says it was pruned.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Delete succeeded, failed and cancelled jobs that finished longer ago than AGE, with their attempts and emptied batches.", valueName: "age"))
        var finishedBefore: String?

        @Option(help: ArgumentHelp("Delete ended and timed-out sessions, with their history, last active longer ago than AGE.", valueName: "age"))
        var sessionsEndedBefore: String?

        @Flag(help: "Also delete the result files of the jobs pruned.")
        var results = false

        @Flag(help: "Print what would be deleted (counts and bytes); delete nothing.")
        var dryRun = false

        @Flag(help: "Rewrite the database file to give all free space back and turn on incremental vacuum (needed once for homes made before agentq had it; other writers wait until it is done).")
        var vacuum = false

        @Flag(help: "Print a JSON object.")
        var json = false

        func validate() throws {
            _ = try request()
            if finishedBefore == nil && sessionsEndedBefore == nil && !vacuum {
                throw ValidationError(
                    "say what to prune: --finished-before AGE (finished jobs) and/or --sessions-ended-before AGE "
                        + "(closed sessions), e.g. `agentq prune --finished-before 7d --dry-run`; --vacuum to compact the file")
            }
            if results && finishedBefore == nil {
                throw ValidationError("--results deletes the result files of pruned jobs: pass --finished-before AGE with it")
            }
        }

        /// The prune asked for; a bad AGE is a usage error naming its option.
        func request() throws -> PruneRequest {
            do {
                return PruneRequest(
                    finishedBefore: try finishedBefore.map { try RetentionAge(parsing: $0, option: "--finished-before") },
                    sessionsEndedBefore: try sessionsEndedBefore.map {
                        try RetentionAge(parsing: $0, option: "--sessions-ended-before")
                    },
                    removeResults: results, dryRun: dryRun)
            } catch let error as AgentQError {
                throw ValidationError(error.message)
            }
        }

        func run() throws {
            let queue = try global.openQueue()
            let request = try request()
            let retention = Retention(queue: queue)
            if !request.isEmpty {
                let report = try reportingErrors { try retention.prune(request) }
                Terminal.out(json ? RetentionDocument.json(for: report) : report.summary)
            }
            if vacuum && !dryRun {
                let before = try reportingErrors { try queue.database.space() }
                try reportingErrors { try queue.database.vacuum() }
                let after = try reportingErrors { try queue.database.space() }
                if !json {
                    Terminal.out("vacuumed \(queue.database.locationDescription): \(before.fileBytes) → \(after.fileBytes) bytes")
                }
            }
        }
    }
}
