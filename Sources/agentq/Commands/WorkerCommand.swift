import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Worker: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "worker",
            abstract: "Run queued jobs with a pool of workers.",
            discussion: """
                SIGINT or SIGTERM stops claiming, lets running jobs finish for --grace seconds, then
                cancels them and puts them back in the queue; a second signal skips the grace period.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(parsing: .unconditional, help: "Jobs run at the same time (up to 16384): a turn waiting on its model holds no thread.")
        var concurrency: Int = 4

        @Option(parsing: .unconditional, help: "Threads doing the jobs' blocking work: the database, tools, result files (default: --concurrency, at most 32).")
        var threads: Int?

        @Flag(help: "Exit 0 once no job is queued, running or waiting for a retry.")
        var drain = false

        @Flag(help: "Run one job (if one is ready) and exit.")
        var once = false

        @Option(parsing: .unconditional, help: "Seconds a job stays this worker's without a heartbeat; after that another worker rescues it.")
        var lease: Double = 30

        @Option(parsing: .unconditional, help: "Seconds running jobs get to finish after SIGINT/SIGTERM.")
        var grace: Double = 10

        @Option(name: .customLong("retry-delay"), parsing: .unconditional, help: "Seconds before the first retry of a failed attempt; doubles each time.")
        var retryDelay: Double = 1

        @Option(parsing: .unconditional, help: "Claimed jobs held ready beyond --concurrency (default: adapts to how long jobs take).")
        var prefetch: Int?

        @Option(parsing: .unconditional, help: "Seconds an idle worker waits before looking for new jobs again when no wake-up from a submitting process reaches it.")
        var poll: Double = 0.1

        func validate() throws {
            if drain && once { throw ValidationError("--drain and --once cannot be used together") }
            try NumericOption.count(concurrency, "--concurrency", in: 1...WorkerOptions.maxConcurrency)
            // Every value is turned into milliseconds in an Int64: inf, nan or 1e300 would trap.
            try NumericOption.seconds(lease, "--lease", minimum: 1)
            try NumericOption.seconds(poll, "--poll", minimum: 0.001)
            // 0 is meaningful for these two: no grace period, retry at once.
            try NumericOption.seconds(grace, "--grace", minimum: 0)
            try NumericOption.seconds(retryDelay, "--retry-delay", minimum: 0)
            if let prefetch { try NumericOption.count(prefetch, "--prefetch", in: 0...10_000) }
            if let threads { try NumericOption.count(threads, "--threads", in: 1...1024) }
        }

        func run() throws {
            let queue = try global.openQueue()
            var options = WorkerOptions(
                mode: drain ? .drain : once ? .once : .forever, concurrency: concurrency, prefetch: prefetch,
                leaseMilliseconds: Int64(lease * 1000), pollMilliseconds: Int64(poll * 1000),
                backoff: RetryBackoff(baseMilliseconds: Int64(retryDelay * 1000)),
                log: { Terminal.err("agentq worker: \($0)") })
            options.threads = threads
            let summary = try runWorker(queue: queue, options: options, graceSeconds: grace, announce: true)
            Terminal.out(
                "worker \(options.workerID) done: \(summary.succeeded) succeeded, \(summary.failed) failed, "
                    + "\(summary.cancelled) cancelled, \(summary.retried) retried, \(summary.requeued) requeued")
            Terminal.out("results: \(queue.home.resultsDirectory.path)")
        }
    }
}

/// Runs a worker pool in this process until it ends, stopping gracefully on SIGINT/SIGTERM.
func runWorker(queue: AgentQueue, options: WorkerOptions, graceSeconds: Double, announce: Bool) throws -> WorkerSummary {
    FileDescriptorLimit.raise(toServe: options.concurrency, log: { Terminal.err("agentq worker: \($0)") })
    let pool = queue.makeWorker(options)
    let graceMilliseconds = Int64(graceSeconds * 1000)
    let trap = SignalTrap(
        first: { signal in
            Terminal.err("agentq worker: \(signalName(signal)): no new jobs; running jobs get \(graceSeconds)s to finish")
            pool.shutdown(graceMilliseconds: graceMilliseconds)
        },
        second: { signal in
            Terminal.err("agentq worker: \(signalName(signal)) again: cancelling running jobs and requeueing them")
            pool.shutdown(graceMilliseconds: 0)
        })
    defer { withExtendedLifetime(trap) {} }
    if announce {
        Terminal.err(
            "agentq worker \(options.workerID): concurrency \(options.concurrency), home \(queue.home.root.path)")
    }
    return try reportingErrors { try pool.run() }
}
