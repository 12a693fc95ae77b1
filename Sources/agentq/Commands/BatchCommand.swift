import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Batch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch",
            abstract: "Follow, collect and cancel batches (one per submitted file).",
            subcommands: [List.self, Status.self, Results.self, Cancel.self])
    }
}

/// Fetches a batch or exits with a message naming the ID.
private func requireBatch(_ id: String, in queue: AgentQueue) throws -> JobQueue.Batch {
    try reportingErrors { try queue.requireBatch(id: id) }
}

extension AgentQCommand.Batch {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List batches, newest first.")

        @OptionGroup var global: GlobalOptions

        @Option(parsing: .unconditional, help: "At most this many batches.")
        var limit: Int = 50

        @Flag(help: "Print a JSON array.")
        var json = false

        func validate() throws { try NumericOption.count(limit, "--limit", in: 1...Int.max) }

        func run() throws {
            let queue = try global.openQueue()
            let batches = try reportingErrors { try queue.store.batches(limit: limit) }
            if json {
                Terminal.out("[" + batches.map { BatchDocument.json(for: $0) }.joined(separator: ",\n") + "]")
                return
            }
            var table = Table("BATCH", "STATUS", "TOTAL", "SUCCEEDED", "FAILED", "CANCELLED", "UNFINISHED", "CREATED", "SOURCE")
            for batch in batches {
                let counts = batch.counts
                table.add(
                    batch.id, batch.status, "\(counts.total)", "\(counts.succeeded)", "\(counts.failed)",
                    "\(counts.cancelled)", "\(counts.queued + counts.running)", batch.createdAt.shortText, batch.source.cell)
            }
            Terminal.out(table.text)
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show how many jobs of a batch are in each status.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The batch ID.")
        var id: String

        @Flag(help: "Print {\"batch_id\", \"status\", \"counts\": {...}}.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let batch = try requireBatch(id, in: queue)
            let usage = try reportingErrors { try queue.budgets.usage(batchID: batch.id) }
            if json {
                Terminal.out(BatchDocument.json(for: batch, usage: usage))
                return
            }
            let counts = batch.counts
            Terminal.out("""
                batch:      \(batch.id)
                status:     \(batch.status)
                source:     \(batch.source ?? "-")
                created:    \(batch.createdAt.iso8601)
                total:      \(counts.total)
                queued:     \(counts.queued)
                running:    \(counts.running)
                succeeded:  \(counts.succeeded)
                failed:     \(counts.failed)
                cancelled:  \(counts.cancelled)
                tokens:     \(usage.inputTokens) in, \(usage.outputTokens) out
                cost:       $\(String(format: "%.4f", usage.costUSD))
                """)
        }
    }

    struct Results: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "results",
            abstract: "Print the batch's job objects as JSONL, in input order.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The batch ID.")
        var id: String

        @Option(help: "Write to this file (atomically) instead of standard output.")
        var output: String?

        func run() throws {
            let queue = try global.openQueue()
            _ = try requireBatch(id, in: queue)
            let handle: FileHandle
            let temporaryPath = output.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path + "/.\(UUID().uuidString).tmp" }
            if let temporaryPath {
                guard FileManager.default.createFile(atPath: temporaryPath, contents: nil),
                    let file = FileHandle(forWritingAtPath: temporaryPath)
                else {
                    Terminal.error("cannot write \(output!): its directory is missing or not writable")
                    throw ExitCode.failure
                }
                handle = file
            } else {
                handle = FileHandle.standardOutput
            }
            let pages = BatchResultPages(store: queue.store, batchID: id)
            var after: Int64? = nil
            repeat {
                let cursor = after
                let page = try reportingErrors { try pages.page(after: cursor) }
                handle.write(Data(page.bytes))
                after = page.next
            } while after != nil
            if let temporaryPath, let output {
                handle.closeFile()
                if rename(temporaryPath, output) != 0 {
                    unlink(temporaryPath)
                    Terminal.error("cannot write \(output): \(String(cString: strerror(errno)))")
                    throw ExitCode.failure
                }
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel every unfinished job of a batch.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The batch ID.")
        var id: String

        @Flag(help: "Print {\"batch_id\", \"cancelled\", \"cancel_requested\"}.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            _ = try requireBatch(id, in: queue)
            let outcomes = try reportingErrors { try queue.cancel(.batch(id)) }
            if json {
                Terminal.out(CancelDocument.json(forBatch: id, outcomes: outcomes))
                return
            }
            let cancelled = outcomes.filter { $0.effect == .cancelled }.count
            let requested = outcomes.filter { $0.effect == .cancelRequested }.count
            Terminal.out("batch \(id): cancelled \(cancelled) queued job(s); asked \(requested) running job(s) to stop")
        }
    }
}
