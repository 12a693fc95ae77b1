import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Enqueue a bulk prompt file (JSONL, one job per line) as one batch.",
            discussion: """
                Each line is {"input": "...", "custom_id"?, "agent"?, "session"?, "priority"?, "run_at"?,
                "max_attempts"?, "metadata"?}, or an OpenAI Batch API request line. The file is read as it is
                written, in short transactions, and goes live at once when the last line is in: a bad line
                anywhere rejects it (FILE:LINE: reason), nothing enqueued, unless --skip-invalid is given.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: ArgumentHelp("The JSONL file, or - for standard input.", valueName: "file"))
        var file: String

        @Option(help: "The agent of lines that name none.")
        var agent: String = "echo"

        @Option(parsing: .unconditional, help: "The priority of lines that give none; higher runs first (negative runs last).")
        var priority: Int = 0

        @Option(name: .customLong("max-attempts"), parsing: .unconditional, help: "Attempts per job for lines that give none.")
        var maxAttempts: Int = 3

        @Flag(name: .customLong("skip-invalid"), help: "Enqueue the valid lines and list the invalid ones.")
        var skipInvalid = false

        @Flag(help: "Print {\"batch_id\", \"jobs\", \"skipped\"} as JSON.")
        var json = false

        @Option(name: .customLong("max-cost-usd"), parsing: .unconditional, help: "Stop starting the batch's jobs once they have spent this many US dollars.")
        var maxCostUSD: Double?

        @Option(name: .customLong("max-tokens-total"), parsing: .unconditional, help: "Stop starting the batch's jobs once they have used this many tokens.")
        var maxTokensTotal: Int?

        @Flag(help: "Run the batch now (alongside any running workers) and show its progress.")
        var wait = false

        @Option(parsing: .unconditional, help: "With --wait: jobs run at the same time.")
        var concurrency: Int = 4

        func validate() throws {
            try validateName(agent, as: .agent)
            try NumericOption.count(maxAttempts, "--max-attempts", in: 1...Int.max)
            if let maxCostUSD { try NumericOption.dollars(maxCostUSD, "--max-cost-usd") }
            if let maxTokensTotal { try NumericOption.count(maxTokensTotal, "--max-tokens-total", in: 1...Int.max) }
            try NumericOption.count(concurrency, "--concurrency", in: 1...WorkerOptions.maxConcurrency)
        }

        func run() throws {
            let queue = try global.openQueue()
            let options = SubmitOptions(
                source: file, defaultAgent: agent, defaultPriority: priority, defaultMaxAttempts: maxAttempts,
                skipInvalid: skipInvalid, batchMaxCostUSD: maxCostUSD, batchMaxTokensTotal: maxTokensTotal)
            let report = try checkedSubmission(file: file, nothingWas: "enqueued") {
                // Read a chunk at a time: a file of any size needs the memory of one chunk.
                let reader = file == "-"
                    ? try BulkFileReader(fileDescriptor: STDIN_FILENO, source: file)
                    : try BulkFileReader(contentsOf: URL(fileURLWithPath: file), source: file)
                return try queue.submit(reader, options: options)
            }
            for line in report.skipped { Terminal.err("skipped \(line.description)") }
            if json {
                Terminal.out(report.json)
            } else {
                Terminal.out(
                    "submitted \(report.jobs) job(s) as batch \(report.batchID)"
                        + (report.skipped.isEmpty ? "" : " (skipped \(report.skipped.count) invalid line(s))"))
            }
            guard wait else { return }

            let progress = BatchProgress(store: queue.store, batchID: report.batchID, total: report.jobs)
            progress.start()
            let options2 = WorkerOptions(
                mode: .drain, scope: .batch(report.batchID), concurrency: concurrency,
                log: { Terminal.err("agentq: \($0)") })
            _ = try runWorker(queue: queue, options: options2, graceSeconds: 10, announce: false)
            progress.finish()
            let counts = try reportingErrors { try queue.store.counts(batchID: report.batchID) }
            if !json {
                Terminal.out(
                    "batch \(report.batchID): \(counts.succeeded) succeeded, \(counts.failed) failed, "
                        + "\(counts.cancelled) cancelled, \(counts.queued + counts.running) unfinished")
                Terminal.out("results: \(queue.home.resultsDirectory.path) (agentq batch results \(report.batchID))")
            }
            if counts.failed > 0 { throw ExitCode.failure }
        }
    }
}

/// A prompt file's bytes, or standard input's for `-`.
/// - throws: `ExitCode.failure` after saying why the file cannot be read.
func readPromptFile(_ file: String) throws -> Data {
    if file == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    guard let contents = FileManager.default.contents(atPath: file) else {
        Terminal.error("cannot read \(file): \(FileManager.default.fileExists(atPath: file) ? "permission denied or not a file" : "no such file")")
        throw ExitCode.failure
    }
    return contents
}

/// Runs `body`, which checks a bulk file; a rejected file is reported as `FILE:LINE: reason`
/// lines (the first 100) and a summary saying nothing was `verb` (enqueued, stored).
/// - throws: `ExitCode.failure` once the error is printed.
func checkedSubmission<T>(file: String, nothingWas verb: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let rejected as SubmitRejected {
        if let problem = rejected.fileProblem { Terminal.error(problem) }
        let shown = rejected.invalidLines.prefix(100)
        for line in shown { Terminal.err(line.description) }
        if rejected.invalidLines.count > shown.count {
            Terminal.err("… and \(rejected.invalidLines.count - shown.count) more invalid lines")
        }
        if rejected.fileProblem == nil {
            Terminal.error(
                "\(file): \(rejected.invalidLines.count) invalid line(s); nothing was \(verb)"
                    + (verb == "enqueued" ? " (--skip-invalid enqueues the valid ones)" : ""))
        }
        throw ExitCode.failure
    } catch {
        _ = try reportingErrors { throw error }
        throw ExitCode.failure
    }
}
