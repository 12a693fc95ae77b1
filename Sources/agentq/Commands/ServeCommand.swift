import AgentQ
import AgentQServer
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve the HTTP API (sessions, jobs, batches, agents, the OpenAI Batch API) on this home.",
            discussion: """
                Unless --no-worker, the same process runs a worker pool on the home, so `agentq serve`
                alone is a complete service; `agentq worker` processes on the same home share the work.
                With AGENTQ_API_TOKEN set, every endpoint but /healthz requires
                `Authorization: Bearer <token>`; without it, only a loopback address may be bound.
                SIGINT/SIGTERM: stop accepting, finish in-flight requests and the worker's grace period, exit 0.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "The address to listen on.")
        var host = "127.0.0.1"

        @Option(parsing: .unconditional, help: "The port (0: any free port, printed on stderr).")
        var port = 2323

        @Option(parsing: .unconditional, help: "Jobs this process's worker pool runs at the same time.")
        var concurrency = 16

        @Flag(name: .customLong("no-worker"), help: "Serve only; leave the jobs to `agentq worker` processes.")
        var noWorker = false

        @Option(parsing: .unconditional, help: "Seconds running jobs get to finish after SIGINT/SIGTERM.")
        var grace: Double = 10

        @Option(name: .customLong("max-upload-mb"), parsing: .unconditional, help: "Largest JSONL or file upload, in MiB.")
        var maxUploadMB = 512

        @Option(name: .customLong("default-agent"), help: "The agent of an OpenAI batch line whose model names no agent.")
        var defaultAgent: String?

        func validate() throws {
            try NumericOption.count(port, "--port", in: 0...65535)
            try NumericOption.count(concurrency, "--concurrency", in: 1...WorkerOptions.maxConcurrency)
            try NumericOption.seconds(grace, "--grace", minimum: 0)
            try NumericOption.count(maxUploadMB, "--max-upload-mb", in: 1...1_048_576)
            if let defaultAgent { try validateName(defaultAgent, as: .agent) }
        }

        func run() throws {
            let queue = try global.openQueue()
            var configuration = ServerConfiguration()
            configuration.host = host
            configuration.port = port
            configuration.concurrency = concurrency
            FileDescriptorLimit.raise(toServe: concurrency + 1024, log: { Terminal.err("agentq serve: \($0)") })
            configuration.runsWorker = !noWorker
            configuration.graceSeconds = grace
            configuration.maxUploadBytes = maxUploadMB << 20
            configuration.defaultAgent = defaultAgent
            configuration.token = ProcessInfo.processInfo.environment["AGENTQ_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            if let ping = ProcessInfo.processInfo.environment["AGENTQ_SSE_PING_SECONDS"].flatMap(Double.init), ping > 0 {
                configuration.pingSeconds = ping
            }
            let server = try reportingErrors { try AgentQServer(queue: queue, configuration: configuration) }
            let worker = noWorker ? "no worker" : "a worker pool of \(concurrency)"
            // The server runs on Swift's concurrency threads; this thread only waits for it to end.
            let finished = DispatchSemaphore(value: 0)
            let failure = ServeFailure()
            Task {
                do {
                    try await server.run { host, port in
                        Terminal.err("agentq serve: listening on http://\(host):\(port) with \(worker), home \(queue.home.root.path)")
                    }
                } catch {
                    failure.message = "\(error)"
                }
                finished.signal()
            }
            finished.wait()
            if let message = failure.message {
                Terminal.error("cannot serve on \(host):\(port): \(message)")
                throw ExitCode.failure
            }
            Terminal.err("agentq serve: stopped")
        }
    }
}

/// Why the server stopped with an error, handed from its task to the command's thread.
private final class ServeFailure: @unchecked Sendable {
    var message: String?
}
