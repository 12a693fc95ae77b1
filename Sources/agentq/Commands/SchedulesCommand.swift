import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Schedules: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schedules",
            abstract: "Prompts that run on a cron expression or an interval, fired by every running worker.",
            discussion: """
                A running `agentq worker` fires due schedules from its maintenance pass (every 1-5 s, its
                --lease / 2), each tick exactly once however many workers share the home. Each fire is a
                batch whose source is schedule:NAME. Ticks missed while no worker ran fire one catch-up run.
                """,
            subcommands: [Add.self, List.self, Show.self, Pause.self, Resume.self, Remove.self, RunNow.self])
    }
}

/// The argument naming an existing schedule.
struct ScheduleName: ParsableArguments {
    @Argument(help: "The schedule's name.")
    var name: String

    func validate() throws { try validateName(name, as: .schedule) }
}

extension AgentQCommand.Schedules {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Add a schedule (or replace one with --replace).",
            discussion: """
                --cron takes 5 fields (minute hour day-of-month month day-of-week) with ranges, lists, steps
                and names (mon, jan), or @hourly, @daily, @weekly, @monthly, @yearly; it is evaluated in
                --timezone. --every takes 30s, 5m, 2h, 1d. --file's content is checked like `submit` and stored
                now: later edits of the file do not change the schedule (add --replace does).
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The schedule's name (letters, digits, . _ -).")
        var name: String

        @Option(help: ArgumentHelp("A cron expression, e.g. \"0 9 * * mon-fri\".", valueName: "expr"))
        var cron: String?

        @Option(help: ArgumentHelp("An interval: 30s, 5m, 2h, 1d (at least 1s).", valueName: "duration"))
        var every: String?

        @Option(help: "The prompt of the one job each fire makes.")
        var input: String?

        @Option(help: ArgumentHelp("A bulk prompt file (JSONL) whose lines each fire submits.", valueName: "file"))
        var file: String?

        @Option(help: "The agent of the input, or of lines that name none.")
        var agent: String = "echo"

        @Option(help: "Every fire is a turn of this session (lines of a file may name their own).")
        var session: String?

        @Option(parsing: .unconditional, help: "The jobs' priority; higher runs first.")
        var priority: Int = 0

        @Option(name: .customLong("max-attempts"), parsing: .unconditional, help: "Attempts per job.")
        var maxAttempts: Int = 3

        @Option(help: ArgumentHelp("The time zone of --cron (default: the system's), e.g. Europe/Berlin.", valueName: "tz"))
        var timezone: String?

        @Option(help: "skip: a tick whose previous fire is unfinished does not fire (default); allow: it fires anyway.")
        var overlap: String = "skip"

        @Flag(help: "Replace the schedule of that name if there is one.")
        var replace = false

        @Flag(help: "Print the schedule as JSON.")
        var json = false

        func validate() throws {
            try validateName(name, as: .schedule)
            _ = try spec()
            if (input == nil) == (file == nil) { throw ValidationError("give one of --input TEXT or --file FILE") }
            if input?.isEmpty == true { throw ValidationError("--input is empty") }
            try validateName(agent, as: .agent)
            if let session { try validateName(session, as: .session) }
            try NumericOption.count(maxAttempts, "--max-attempts", in: 1...Int.max)
            if let timezone, TimeZone(identifier: timezone) == nil {
                throw ValidationError("--timezone \(Name.quoted(timezone)): unknown time zone (use a name like Europe/Berlin or UTC)")
            }
            if OverlapPolicy(rawValue: overlap) == nil { throw ValidationError("--overlap must be skip or allow (got \(Name.quoted(overlap)))") }
        }

        /// The --cron or --every spec.
        /// - throws: `ValidationError` naming the option and the field at fault.
        func spec() throws -> ScheduleSpec {
            do {
                switch (cron, every) {
                case (let cron?, nil): return .cron(try CronExpression(cron))
                case (nil, let every?): return .every(try Every(every))
                case (nil, nil): throw ValidationError("give one of --cron EXPR or --every DURATION")
                default: throw ValidationError("--cron and --every cannot be used together")
                }
            } catch let error as AgentQError {
                throw ValidationError(cron.map { "--cron \(Name.quoted($0)): \(error.message)" } ?? error.message)
            }
        }

        func run() throws {
            let queue = try global.openQueue()
            let prompts: SchedulePrompts
            if let file {
                let data = try readPromptFile(file)
                guard let text = String(data: data, encoding: .utf8) else {
                    // Not UTF-8: let the bulk checks say which lines.
                    _ = try checkedSubmission(file: file, nothingWas: "stored") {
                        try Submitter(store: queue.store, agents: queue.agents).prepare(data, options: SubmitOptions(source: file))
                    }
                    Terminal.error("\(file): not UTF-8 text; nothing was stored")
                    throw ExitCode.failure
                }
                prompts = .file(name: file, content: text)
            } else {
                prompts = .input(input ?? "")
            }
            let new = NewSchedule(
                name: name, spec: try spec(), timeZone: timezone ?? TimeZone.current.identifier, prompts: prompts,
                agent: agent, session: session, priority: priority, maxAttempts: maxAttempts,
                overlap: OverlapPolicy(rawValue: overlap) ?? .skip)
            let schedule = try checkedSubmission(file: file ?? "--input", nothingWas: "stored") {
                try queue.schedules.add(new, replace: replace, now: .now)
            }
            if json {
                Terminal.out(ScheduleDocument.json(for: schedule, lastBatch: nil))
            } else {
                Terminal.out("schedule \(schedule.name): \(schedule.spec), next run \(schedule.nextRunAt.iso8601) (\(schedule.timeZone))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List schedules by name.")

        @OptionGroup var global: GlobalOptions

        @Flag(help: "Print a JSON array.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let schedules = try reportingErrors { try queue.schedules.schedules() }
            let batches = try reportingErrors {
                try schedules.map { schedule in try schedule.lastBatchID.flatMap { try queue.store.batch(id: $0) } }
            }
            if json {
                let items = zip(schedules, batches).map { ScheduleDocument.json(for: $0, lastBatch: $1) }
                Terminal.out("[" + items.joined(separator: ",\n") + "]")
                return
            }
            var table = Table("Name", "Spec", "Next Run", "Last Run", "Last Batch", "State")
            for (schedule, batch) in zip(schedules, batches) {
                table.add(
                    schedule.name, schedule.spec.description, schedule.nextRunAt.iso8601, (schedule.lastRunAt?.iso8601).cell,
                    schedule.lastBatchID.map { "\($0) (\(batch?.status ?? "removed"))" }.cell,
                    schedule.paused ? "paused" : "active")
            }
            Terminal.out(table.text)
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a schedule and its latest runs.")

        @OptionGroup var global: GlobalOptions
        @OptionGroup var schedule: ScheduleName

        @Flag(help: "Print JSON, with the latest runs.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let (found, runs, batch) = try reportingErrors { () -> (Schedule, [ScheduleRun], Batch?) in
                guard let found = try queue.schedules.schedule(named: schedule.name) else {
                    throw AgentQError(.notFound, "no schedule named \(Name.quoted(schedule.name)) (agentq schedules list shows them)")
                }
                return (found, try queue.schedules.runs(of: found.name, limit: 20),
                        try found.lastBatchID.flatMap { try queue.store.batch(id: $0) })
            }
            if json {
                Terminal.out(ScheduleDocument.json(for: found, lastBatch: batch, runs: runs))
                return
            }
            let what: String = switch found.prompts {
            case .input(let text): "input \(Name.quoted(text))"
            case .file(let name, let content): "\(content.split(whereSeparator: \.isNewline).count) line(s) of \(name), as added"
            }
            Terminal.out("""
                Name:      \(found.name)
                Spec:      \(found.spec) (\(found.timeZone))
                Prompts:   \(what)
                Agent:     \(found.agent)\(found.session.map { ", session \($0)" } ?? "")
                Overlap:   \(found.overlap.rawValue)
                State:     \(found.paused ? "paused" : "active")
                Next run:  \(found.nextRunAt.iso8601)
                Last run:  \((found.lastRunAt?.iso8601).cell)\(found.lastBatchID.map { " batch \($0) (\(batch?.status ?? "removed"))" } ?? "")
                """)
            guard !runs.isEmpty else { return }
            var table = Table("Tick", "Outcome", "Batch", "At", "Note")
            for run in runs {
                table.add((run.tickAt?.iso8601).cell, run.outcome.rawValue, run.batchID.cell, run.at.iso8601, run.message.cell)
            }
            Terminal.out("\n" + table.text)
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop a schedule from firing until it is resumed.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var schedule: ScheduleName

        func run() throws {
            let queue = try global.openQueue()
            try reportingErrors { _ = try queue.schedules.setPaused(schedule.name, true, now: .now) }
            Terminal.out("paused schedule \(schedule.name)")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resume",
            abstract: "Resume a paused schedule from its next tick (ticks missed while paused do not fire).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var schedule: ScheduleName

        func run() throws {
            let queue = try global.openQueue()
            let resumed = try reportingErrors { try queue.schedules.setPaused(schedule.name, false, now: .now) }
            Terminal.out("resumed schedule \(schedule.name); next run \(resumed.nextRunAt.iso8601)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rm", abstract: "Remove a schedule (its batches stay).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var schedule: ScheduleName

        func run() throws {
            let queue = try global.openQueue()
            try reportingErrors { try queue.schedules.remove(schedule.name) }
            Terminal.out("removed schedule \(schedule.name)")
        }
    }

    struct RunNow: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run", abstract: "Fire a schedule now, once (its next tick stays as it was).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var schedule: ScheduleName

        func run() throws {
            let queue = try global.openQueue()
            let run = try checkedSubmission(file: schedule.name, nothingWas: "enqueued") {
                try queue.schedules.runNow(schedule.name, now: .now)
            }
            Terminal.out("fired schedule \(schedule.name) as batch \(run.batchID ?? "-")")
        }
    }
}
