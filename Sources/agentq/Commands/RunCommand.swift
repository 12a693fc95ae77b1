import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Talk to an agent: a new session, one turn per line you type.",
            discussion: "Type 'exit' or press Ctrl-C to leave; the session stays resumable with 'agentq sessions send'.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The agent.")
        var agent: String

        @Argument(help: "The first message (with --single and none given, standard input is read).")
        var prompt: String?

        @Flag(help: "Answer once and exit.")
        var single = false

        func validate() throws { try validateName(agent, as: .agent) }

        func run() throws {
            let queue = try global.openQueue()
            let manager = SessionManager(queue: queue)
            let session = try reportingErrors { try manager.create(agent: agent) }
            let state = InteractiveState()
            let trap = SignalTrap(
                first: { _ in
                    if let jobID = state.leave() {
                        _ = try? queue.cancel(.ids([jobID]))
                    } else {
                        Terminal.out("")
                        Self.printResumeHint(session.id)
                        Foundation.exit(0)
                    }
                },
                second: { _ in Foundation.exit(130) })
            defer { withExtendedLifetime(trap) {} }

            var next = prompt
            if next == nil && single {
                let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                next = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            var failed = false
            while !state.leaving {
                if next == nil {
                    FileHandle.standardOutput.write(Data("You > ".utf8))
                    guard let line = readLine() else { break }
                    let trimmed = line.trimmingCharacters(in: .whitespaces)
                    if trimmed == "exit" || trimmed == "quit" { break }
                    if trimmed.isEmpty { continue }
                    next = line
                }
                let input = next!
                next = nil
                let started = Date()
                let live = Terminal.stdoutIsTTY ? LiveTurnPrinter() : nil
                var observer: (@Sendable (TurnEvent) -> Void)?
                if let live { observer = { event in live.handleEvent(event) } }
                let jobID: String = try reportingErrors { try manager.send(input, to: session.id, observing: observer) }
                state.running(jobID)
                let job = try reportingErrors { try TurnDriver(queue: queue).runUntilFinished(jobID: jobID, sessionID: session.id) }
                state.running(nil)
                live?.detach(jobID: jobID)
                if live?.didPrintAnswer != true {
                    let messages = try reportingErrors {
                        try queue.sessions.messages(sessionID: session.id, last: 200).filter { $0.jobID == jobID && $0.message.role != .user }
                    }
                    for line in TranscriptPrinter.lines(messages) { Terminal.out(line) }
                }
                if job.status == .succeeded {
                    Terminal.out(String(format: "Completed in %.1fs", Date().timeIntervalSince(started)))
                } else {
                    failed = true
                    Terminal.error("turn \(job.status.rawValue): \(job.error.map { "\($0.type): \($0.message)" } ?? "")")
                }
                if single { break }
            }
            Self.printResumeHint(session.id)
            if single && failed { throw ExitCode.failure }
        }

        static func printResumeHint(_ sessionID: String) {
            Terminal.err("session \(sessionID) is resumable: agentq sessions send \(sessionID) --input '…'")
        }
    }
}

/// What the interactive loop is doing, shared with the Ctrl-C handler.
final class InteractiveState: @unchecked Sendable {
    private let lock = NSLock()
    private var jobID: String?
    private var left = false

    var leaving: Bool {
        lock.lock()
        defer { lock.unlock() }
        return left
    }

    func running(_ id: String?) {
        lock.lock()
        jobID = id
        lock.unlock()
    }

    /// Marks the loop as leaving; returns the running turn to cancel, if any.
    func leave() -> String? {
        lock.lock()
        defer { lock.unlock() }
        left = true
        return jobID
    }
}
