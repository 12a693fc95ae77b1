import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Show how much the home holds and what the retention policy would remove.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON object.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let stats = try reportingErrors { try Retention(queue: queue).stats() }
            if json {
                Terminal.out(RetentionDocument.json(for: stats))
                return
            }
            let database = stats.database
            let jobs = JobStatus.allCases.map { "\(stats.store.counts[$0]) \($0.rawValue)" }
            let sessions = SessionStatus.allCases.map { status -> String in "\(stats.sessions[status] ?? 0) \(status.rawValue)" }
            var databaseLine = "database:   \(queue.database.locationDescription): \(database.fileBytes) bytes"
            if queue.database is SQLiteDatabase {
                databaseLine += " (+\(database.walBytes) in the log), \(database.freePages) of \(database.pageCount) pages free"
                if !database.incrementalVacuum { databaseLine += " (no incremental vacuum: `agentq prune --vacuum` once)" }
            }
            var lines = [databaseLine]
            lines.append("jobs:       " + jobs.joined(separator: ", "))
            lines.append("batches:    \(stats.store.batches)")
            lines.append("oldest finished job: \(stats.store.oldestFinishedAt?.iso8601 ?? "none")")
            lines.append("sessions:   " + sessions.joined(separator: ", "))
            lines.append("results:    \(stats.resultFiles) files, \(stats.resultBytes) bytes")
            let policy = RetentionPolicy.Key.allCases.compactMap { key in
                stats.policy[key].map { "\(key.rawValue) \($0.text)" }
            }
            if let would = stats.policyWouldRemove {
                lines.append("retention:  " + policy.joined(separator: ", ")
                    + "; last applied \(stats.policyLastRunAt?.iso8601 ?? "never")")
                lines.append("            " + would.summary)
            } else {
                lines.append("retention:  none (everything is kept; `agentq config set retention.finished 14d` to prune)")
            }
            Terminal.out(lines.joined(separator: "\n"))
        }
    }
}
