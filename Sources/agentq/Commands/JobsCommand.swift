import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Jobs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "jobs",
            abstract: "List, inspect, cancel and retry jobs.",
            subcommands: [List.self, Get.self, Cancel.self, Retry.self])
    }
}

extension AgentQCommand.Jobs {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "List jobs, newest first (in input order with --batch).")

        @OptionGroup var global: GlobalOptions

        @Option(help: "queued, running, succeeded, failed or cancelled.")
        var status: String?

        @Option(help: "Only the jobs of this batch.")
        var batch: String?

        @Option(parsing: .unconditional, help: "At most this many jobs.")
        var limit: Int = 50

        @Flag(help: "Print a JSON array of job objects.")
        var json = false

        func validate() throws {
            if let status, JobStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of: \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try NumericOption.count(limit, "--limit", in: 1...Int.max)
        }

        func run() throws {
            let queue = try global.openQueue()
            let jobs = try reportingErrors {
                try queue.store.jobs(matching: JobFilter(
                    status: status.flatMap(JobStatus.init(rawValue:)), batchID: batch, limit: limit,
                    newestFirst: batch == nil))
            }
            if json {
                Terminal.out("[" + jobs.map(ResultDocument.json(for:)).joined(separator: ",\n") + "]")
                return
            }
            var table = Table("JOB", "STATUS", "AGENT", "ATTEMPTS", "CUSTOM_ID", "CREATED")
            for job in jobs {
                table.add(
                    job.id, job.status.rawValue, job.handler, "\(job.attempts)/\(job.maxAttempts)", job.customID.cell,
                    job.createdAt.shortText)
            }
            Terminal.out(table.text)
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one job, with the error of every failed attempt.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The job ID.")
        var id: String

        @Flag(help: "Print the job object (the result file's fields plus attempt_errors).")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let job = try reportingErrors { try queue.requireJob(id: id) }
            let attempts = try reportingErrors { try queue.store.attempts(ofJob: id) }
            if json {
                Terminal.out(JobDocument.json(for: job, attempts: attempts))
                return
            }
            var lines = [
                "job:        \(job.id)",
                "status:     \(job.status.rawValue)",
                "agent:      \(job.handler)",
                "attempts:   \(job.attempts)/\(job.maxAttempts)",
                "priority:   \(job.priority)",
            ]
            if let customID = job.customID { lines.append("custom_id:  \(customID)") }
            if let batchID = job.batchID { lines.append("batch:      \(batchID)") }
            if let lane = job.lane { lines.append("session:    \(lane)") }
            lines.append("created:    \(job.createdAt.iso8601)")
            if job.status == .queued && job.runAt > Timestamp.now { lines.append("run at:     \(job.runAt.iso8601)") }
            if let startedAt = job.startedAt { lines.append("started:    \(startedAt.iso8601)") }
            if let finishedAt = job.finishedAt { lines.append("finished:   \(finishedAt.iso8601)") }
            if let error = job.error, job.status != .succeeded { lines.append("error:      \(error.type): \(error.message)") }
            for record in attempts {
                lines.append("  attempt \(record.attempt): \(record.error.type): \(record.error.message)")
            }
            lines.append("input:      \(job.input)")
            if job.status.isFinished {
                lines.append("result:     \(queue.home.resultFile(jobID: job.id).path)")
            }
            Terminal.out(lines.joined(separator: "\n"))
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel jobs: queued ones at once, running ones within 2 seconds.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Job IDs.")
        var ids: [String] = []

        @Option(help: "Cancel every unfinished job of this batch.")
        var batch: String?

        @Option(help: "Cancel every unfinished job of this session.")
        var session: String?

        @Flag(help: "Wait until the running jobs have stopped.")
        var wait = false

        func validate() throws {
            let given = (ids.isEmpty ? 0 : 1) + (batch == nil ? 0 : 1) + (session == nil ? 0 : 1)
            guard given == 1 else { throw ValidationError("give job IDs, or --batch ID, or --session ID (one of them)") }
        }

        func run() throws {
            let queue = try global.openQueue()
            // A session is named by its ID or a unique prefix, as everywhere else; a bulk
            // file's session name that has no session record yet is taken as it is.
            let lane = session.map { (try? SessionManager(queue: queue).resolve($0).id) ?? $0 }
            let selector: JobSelector = batch.map { .batch($0) } ?? lane.map { .lane($0) } ?? .ids(ids)
            let outcomes = try reportingErrors { try queue.cancel(selector) }
            try report(outcomes, queue: queue)
        }

        func report(_ outcomes: [CancelOutcome], queue: AgentQueue) throws {
            var failed = false
            for outcome in outcomes {
                switch outcome.effect {
                case .cancelled: Terminal.out("\(outcome.id): cancelled")
                case .cancelRequested: Terminal.out("\(outcome.id): running; cancel requested (stops within 2 s)")
                case .alreadyFinished: Terminal.out("\(outcome.id): already \(outcome.status?.rawValue ?? "finished"); nothing to cancel")
                case .notFound:
                    Terminal.error("no job with ID '\(outcome.id)'")
                    failed = true
                }
            }
            if outcomes.isEmpty { Terminal.out("no unfinished jobs to cancel") }
            if wait {
                let running = outcomes.filter { $0.effect == .cancelRequested }.map(\.id)
                let deadline = Date().addingTimeInterval(30)
                var remaining = running
                while !remaining.isEmpty && Date() < deadline {
                    remaining = try reportingErrors { try remaining.filter { try queue.store.job(id: $0)?.status == .running } }
                    if !remaining.isEmpty { Thread.sleep(forTimeInterval: 0.05) }
                }
                for id in running {
                    let status = try reportingErrors { try queue.store.job(id: id)?.status }
                    Terminal.out("\(id): \(status?.rawValue ?? "unknown")")
                }
                if !remaining.isEmpty {
                    Terminal.error("still running after 30 s: \(remaining.joined(separator: ", "))")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retry",
            abstract: "Put failed or cancelled jobs back in the queue with fresh attempts.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "Job IDs.")
        var ids: [String]

        func run() throws {
            let queue = try global.openQueue()
            let outcomes = try reportingErrors { try queue.retry(ids: ids) }
            var failed = false
            for outcome in outcomes {
                switch outcome.effect {
                case .requeued: Terminal.out("\(outcome.id): queued")
                case .notRetryable:
                    Terminal.error(
                        "\(outcome.id) is \(outcome.status?.rawValue ?? "unknown"); only failed or cancelled jobs can be retried")
                    failed = true
                case .notFound:
                    Terminal.error("no job with ID '\(outcome.id)'")
                    failed = true
                }
            }
            if failed { throw ExitCode.failure }
        }
    }
}
