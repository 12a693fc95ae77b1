import AgentQ
import ArgumentParser
import Foundation
import JobQueue

extension AgentQCommand {
    struct Sessions: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sessions",
            abstract: "Stateful conversations with an agent: history, tools and a workspace of their own.",
            discussion: "Every command that takes a session ID accepts a unique prefix of it.",
            subcommands: [Create.self, Send.self, Get.self, List.self, Pause.self, Resume.self, End.self, Cancel.self])
    }
}

/// `--input TEXT` or `--input-stdin -`, one of them.
struct MessageInput: ParsableArguments {
    @Option(help: "The message.")
    var input: String?

    @Option(name: .customLong("input-stdin"), help: ArgumentHelp("Read the message from standard input to EOF.", valueName: "-"))
    var inputStdin: String?

    func validate() throws {
        if input != nil && inputStdin != nil { throw ValidationError("--input and --input-stdin cannot be used together") }
        if let inputStdin, inputStdin != "-" { throw ValidationError("--input-stdin takes '-' (standard input)") }
    }

    /// The message, if one was given.
    func read() -> String? {
        if let input { return input }
        guard inputStdin != nil else { return nil }
        let text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}

/// Options of the commands that run a turn.
struct TurnOptions: ParsableArguments {
    @Flag(help: "Print JSON.")
    var json = false

    @Flag(name: .customLong("no-wait"), help: "Enqueue the turn, print its job ID and return.")
    var noWait = false
}

/// Runs (or waits for) a turn and prints the session and the turn, as create and send do.
func runTurnAndReport(jobID: String, session: SessionRecord, queue: AgentQueue, options: TurnOptions) throws {
    if options.noWait {
        if options.json {
            Terminal.out(SessionDocument.json(for: session, extra: [("job_id", JSONText.quoted(jobID))]))
        } else {
            Terminal.out(jobID)
        }
        return
    }
    let started = Date()
    // On a terminal the turn is shown as it happens; in a pipe, once it is done.
    let live = !options.json && Terminal.stdoutIsTTY ? LiveTurnPrinter() : nil
    if let live {
        Terminal.out("Session:  \(session.id)\nAgent:    \(session.agent)\nCreated:  \(session.createdAt.iso8601)\n")
        if let user = try? queue.store.job(id: jobID)?.input { Terminal.out("You > \(user)") }
        live.attach(jobID: jobID)
    }
    let trap = SignalTrap(
        first: { _ in
            Terminal.err("agentq: cancelling the turn (\(jobID))")
            _ = try? queue.cancel(.ids([jobID]))
        },
        second: { _ in exit(130) })
    defer { withExtendedLifetime(trap) {} }
    let job = try reportingErrors { try TurnDriver(queue: queue).runUntilFinished(jobID: jobID, sessionID: session.id) }
    live?.detach(jobID: jobID)
    let manager = SessionManager(queue: queue)
    let current = try reportingErrors { try manager.resolve(session.id) }
    let turnMessages = try reportingErrors {
        try queue.sessions.messages(sessionID: session.id, last: 200).filter { $0.jobID == jobID }
    }
    if options.json {
        Terminal.out(SessionDocument.json(
            for: current, messages: turnMessages,
            extra: [("job_id", JSONText.quoted(jobID)), ("turn", ResultDocument.json(for: job))]))
    } else if let live {
        if !live.didPrintAnswer {
            // The turn ran in another process: show it now.
            Terminal.out(TranscriptPrinter.lines(turnMessages.filter { $0.message.role != .user }).joined(separator: "\n"))
        }
        Terminal.out("Status:   \(current.status.rawValue)")
    } else {
        Terminal.out("""
            Session:  \(current.id)
            Agent:    \(current.agent)
            Status:   \(current.status.rawValue)
            Created:  \(current.createdAt.iso8601)

            """ + TranscriptPrinter.lines(turnMessages).joined(separator: "\n"))
    }
    switch job.status {
    case .succeeded:
        if !options.json { Terminal.err(String(format: "Completed in %.1fs", Date().timeIntervalSince(started))) }
    case .queued, .running:
        Terminal.err("agentq: session \(current.id) is paused; the turn \(jobID) waits in the queue (agentq sessions resume \(current.id))")
    case .failed, .cancelled:
        Terminal.error("turn \(jobID) \(job.status.rawValue): \(job.error.map { "\($0.type): \($0.message)" } ?? "")")
        throw ExitCode.failure
    }
}

extension AgentQCommand.Sessions {
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create",
            abstract: "Create a session, and run its first turn if there is input.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The agent.")
        var agent: String

        @OptionGroup var message: MessageInput

        @Option(name: .customLong("session-id"), help: "Use this ID instead of a generated ses_… one.")
        var sessionID: String?

        @Option(help: "The workspace directory (default: <home>/workspaces/<session id>). It is kept when the session ends.")
        var workdir: String?

        @Option(help: "A title for listings.")
        var title: String?

        @OptionGroup var turn: TurnOptions

        func validate() throws {
            try validateName(agent, as: .agent)
            if let sessionID { try validateName(sessionID, as: .session) }
        }

        func run() throws {
            let queue = try global.openQueue()
            let manager = SessionManager(queue: queue)
            let input = message.read()
            let session = try reportingErrors {
                try manager.create(agent: agent, sessionID: sessionID, workdir: workdir, title: title)
            }
            guard let input else {
                Terminal.out(turn.json ? SessionDocument.json(for: session) : session.id)
                return
            }
            let jobID = try reportingErrors { try manager.send(input, to: session.id) }
            try runTurnAndReport(jobID: jobID, session: session, queue: queue, options: turn)
        }
    }

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "send", abstract: "Send a message: a follow-up turn.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        @OptionGroup var message: MessageInput

        @OptionGroup var turn: TurnOptions

        func validate() throws {
            if message.input == nil && message.inputStdin == nil { throw ValidationError("give --input TEXT or --input-stdin -") }
        }

        func run() throws {
            let queue = try global.openQueue()
            let manager = SessionManager(queue: queue)
            let session = try reportingErrors { try manager.resolve(id) }
            let jobID = try reportingErrors { try manager.send(message.read() ?? "", to: session.id) }
            try runTurnAndReport(jobID: jobID, session: session, queue: queue, options: turn)
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "get",
            abstract: "Show a session and its last five messages (--json: the full transcript).")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        @Flag(help: "Print the session with its full transcript, tool calls and results included.")
        var json = false

        func run() throws {
            let queue = try global.openQueue()
            let session = try reportingErrors { try SessionManager(queue: queue).resolve(id) }
            if json {
                let messages = try reportingErrors { try queue.sessions.messages(sessionID: session.id, last: nil) }
                Terminal.out(SessionDocument.json(for: session, messages: messages))
                return
            }
            let last = try reportingErrors { try queue.sessions.messages(sessionID: session.id, last: 5) }
            var lines = [
                "Session:      \(session.id)",
                "Agent:        \(session.agent)",
            ]
            if let title = session.title { lines.append("Title:        \(title)") }
            lines += [
                "Status:       \(session.status.rawValue)",
                "Created:      \(session.createdAt.iso8601)",
                "Last active:  \(relativeTime(session.lastActiveAt))",
                "Messages:     \(session.messageCount)",
                "Workspace:    \(session.workdir)\(session.status.acceptsMessages ? "" : " (removed)")",
                "Host:         \(session.host ?? "any (its turns run on any host)")",
            ]
            if !last.isEmpty { lines += [""] + TranscriptPrinter.lines(last) }
            Terminal.out(lines.joined(separator: "\n"))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List sessions, most recently active first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "Only this agent's sessions.")
        var agent: String?

        @Option(help: "active, idle, paused, ended, timeout or error.")
        var status: String?

        @Flag(help: "Print a JSON array.")
        var json = false

        func validate() throws {
            if let agent { try validateName(agent, as: .agent) }
            if let status, SessionStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of: \(SessionStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let queue = try global.openQueue()
            SessionManager(queue: queue).expireIdleSessions()
            let sessions = try reportingErrors {
                try queue.sessions.sessions(agent: agent, status: status.flatMap(SessionStatus.init(rawValue:)))
            }
            if json {
                Terminal.out("[" + sessions.map { SessionDocument.json(for: $0) }.joined(separator: ",\n") + "]")
                return
            }
            // Host: where the session's workspace is and its turns run ("any": shared storage).
            var table = Table("ID", "Agent", "Title", "Status", "Msgs", "Last Active", "Host")
            for session in sessions {
                table.add(
                    session.id, session.agent, session.title.cell, session.status.rawValue, "\(session.messageCount)",
                    relativeTime(session.lastActiveAt), session.host ?? "any")
            }
            Terminal.out(table.text)
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pause",
            abstract: "Pause a session: its turns wait in the queue until it is resumed; the workspace is kept.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        func run() throws {
            let queue = try global.openQueue()
            let session = try reportingErrors { try SessionManager(queue: queue).pause(id) }
            Terminal.out("\(session.id): \(session.status.rawValue)")
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused session.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        func run() throws {
            let queue = try global.openQueue()
            let session = try reportingErrors { try SessionManager(queue: queue).resume(id) }
            Terminal.out("\(session.id): \(session.status.rawValue)")
        }
    }

    struct End: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "end",
            abstract: "End a session: cancel its turns and delete its workspace; the history stays readable.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        @Flag(help: "Do not ask for confirmation.")
        var yes = false

        func run() throws {
            let queue = try global.openQueue()
            let manager = SessionManager(queue: queue)
            let session = try reportingErrors { try manager.resolve(id) }
            if !yes && isatty(STDIN_FILENO) == 1 {
                let what = session.managedWorkdir ? "Its workspace \(session.workdir) will be deleted." : "Its workspace \(session.workdir) is kept (you chose it)."
                Terminal.err("End session \(session.id)? \(what) [y/N] ", newline: false)
                let answer = readLine()?.lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    Terminal.err("not ended")
                    throw ExitCode.failure
                }
            }
            let ended = try reportingErrors { try manager.end(session.id) }
            Terminal.out("\(ended.id): \(ended.status.rawValue)")
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel the session's running turn (and any queued ones) through their jobs' cancellation tokens.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The session ID or a unique prefix.")
        var id: String

        func run() throws {
            let queue = try global.openQueue()
            let outcomes = try reportingErrors { try SessionManager(queue: queue).cancel(id) }
            if outcomes.isEmpty { Terminal.out("no turn to cancel") }
            for outcome in outcomes {
                switch outcome.effect {
                case .cancelled: Terminal.out("\(outcome.id): cancelled")
                case .cancelRequested: Terminal.out("\(outcome.id): running; cancel requested (stops within 2 s)")
                case .alreadyFinished, .notFound: break
                }
            }
        }
    }
}
