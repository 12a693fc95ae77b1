import AgentQTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Sessions through the built binary only: `agentq sessions …` and `agentq run`.

// MARK: - Helpers

fileprivate let scribeAgent =
    #"{"name":"scribe","provider":"echo","model":"echo","tools":["read_file","write_file","bash"]}"#

fileprivate extension CLIHome {
    /// `sessions get ID --json`.
    func sessionDocument(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try jsonObject(["sessions", "get", id, "--json"], sourceLocation: sourceLocation)
    }

    /// The full transcript of a session.
    func transcript(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let document = try sessionDocument(id, sourceLocation: sourceLocation)
        return try #require(document["messages"] as? [[String: Any]], "no messages in \(document)", sourceLocation: sourceLocation)
    }

    /// `sessions list --json`, with an environment.
    func sessionList(
        _ arguments: [String] = [], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [[String: Any]] {
        let output = try run(["sessions", "list", "--json"] + arguments, environment: environment)
        #expect(output.exitCode == 0, "sessions list exited \(output.exitCode): \(output.stderr)", sourceLocation: sourceLocation)
        let value = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
        return try #require(value as? [[String: Any]], "not an array: \(output.stdout)", sourceLocation: sourceLocation)
    }

    var workspacesDirectory: String { home + "/workspaces" }

    func workspace(_ sessionID: String) -> String { workspacesDirectory + "/" + sessionID }

    /// Starts `agentq ARGUMENTS` in the background with extra environment variables.
    func startWith(_ arguments: [String], environment: [String: String]) throws -> RunningProcess {
        try AgentQProcess.start(arguments, home: home, environment: environment)
    }
}

/// The first `job_…` ID in `text`.
fileprivate func firstJobID(in text: String) -> String? {
    let pattern = try! Regex("job_[0-9a-z]+")
    return text.firstMatch(of: pattern).map { String(text[$0.range]) }
}

/// The first `ses_…` ID in `text`.
fileprivate func firstSessionID(in text: String) -> String? {
    let pattern = try! Regex("ses_[0-9a-z]+")
    return text.firstMatch(of: pattern).map { String(text[$0.range]) }
}

/// The lines of the transcript part of `sessions get` / `sessions create` output: the `You >`,
/// `Agent >`, `→` and `←` lines, in order.
fileprivate func transcriptLines(_ text: String) -> [String] {
    text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter {
        $0.hasPrefix("You > ") || $0.hasPrefix("Agent > ") || $0.hasPrefix("  → ") || $0.hasPrefix("  ← ")
    }
}

/// The header and rows of a table printed by the CLI, cells split on runs of two or more spaces.
fileprivate func tableRows(_ text: String) -> [[String]] {
    let separator = try! Regex(" {2,}")
    return text.split(separator: "\n").map { line in
        line.split(separator: separator).map { String($0) }
    }
}

fileprivate func fileLines(_ path: String) -> [String]? {
    guard let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
}

fileprivate func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

fileprivate func isoDate(_ text: String?) -> Date? {
    guard let text else { return nil }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.date(from: text)
}

/// A TCP socket listening on 127.0.0.1 on a port the kernel picked; connections wait in its backlog.
fileprivate final class LoopbackListener {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else {
            close(fd)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        descriptor = fd
        port = UInt16(bigEndian: actual.sin_port)
    }

    deinit { close(descriptor) }
}

/// Pids of living (not zombie) processes whose command line is exactly `sleep SECONDS`.
fileprivate func livingSleeps(_ seconds: String) -> [Int32] {
    let wanted = "sleep\u{0}\(seconds)\u{0}"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry),
            let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: commandLine, as: UTF8.self) == wanted,
            let stat = FileManager.default.contents(atPath: "/proc/\(pid)/stat").map({ String(decoding: $0, as: UTF8.self) }),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state == "Z" || state == "X" ? nil : pid
    }
}

// MARK: - Everyday use

@Suite struct SessionCommandTests {
    @Test func newUserFlowCreateSendGetAndList() throws {
        let cli = try CLIHome()
        defer { cli.remove() }

        let create = try cli.run(["sessions", "create", "echo", "--input", "hi"])
        #expect(create.exitCode == 0, "stderr: \(create.stderr)")
        let id = try #require(firstSessionID(in: create.stdout), "no ses_ ID in: \(create.stdout)")
        #expect(create.stdout.contains("Session:  \(id)"), "stdout: \(create.stdout)")
        #expect(create.stdout.contains("Agent:    echo"), "stdout: \(create.stdout)")
        #expect(create.stdout.contains("Status:   idle"), "stdout: \(create.stdout)")
        #expect(create.stdout.contains("Created:  20"), "stdout: \(create.stdout)")
        #expect(transcriptLines(create.stdout) == ["You > hi", "Agent > echo: hi"], "stdout: \(create.stdout)")
        #expect((create.stdout + create.stderr).contains("Completed in"))
        #expect(id.count > 12)

        // Follow-ups by unique prefixes of the ID.
        let afterPrefix = String(id.dropFirst(4).prefix(8))
        let shortWithPrefix = "ses_" + String(id.dropFirst(4).prefix(4))
        let twelve = String(id.prefix(12))
        for (prefix, message) in [(afterPrefix, "two"), (shortWithPrefix, "three"), (twelve, "four")] {
            let send = try cli.run(["sessions", "send", prefix, "--input", message])
            #expect(send.exitCode == 0, "send via \(prefix): \(send.stderr)")
            #expect(send.stdout.contains("Session:  \(id)"), "send via \(prefix): \(send.stdout)")
            #expect(transcriptLines(send.stdout) == ["You > \(message)", "Agent > echo: \(message)"], "send via \(prefix): \(send.stdout)")
        }

        // `get` shows the last five messages.
        let get = try cli.runOK(["sessions", "get", afterPrefix])
        #expect(get.contains("Session:      \(id)"), "get: \(get)")
        #expect(get.contains("Messages:     8"), "get: \(get)")
        #expect(get.contains("Workspace:    \(cli.workspace(id))"), "get: \(get)")
        #expect(transcriptLines(get) == [
            "Agent > echo: two", "You > three", "Agent > echo: three", "You > four", "Agent > echo: four",
        ], "get: \(get)")

        // `get --json` has the whole transcript, in order.
        let document = try cli.sessionDocument(id)
        #expect(document["session_id"] as? String == id)
        #expect(document["agent"] as? String == "echo")
        #expect(document["status"] as? String == "idle")
        #expect(document["message_count"] as? Int == 8)
        let messages = try #require(document["messages"] as? [[String: Any]])
        #expect(messages.count == 8)
        #expect(messages.map { $0["role"] as? String ?? "?" } == Array(repeating: ["user", "assistant"], count: 4).flatMap { $0 })
        #expect(messages.map { $0["content"] as? String ?? "?" } == [
            "hi", "echo: hi", "two", "echo: two", "three", "echo: three", "four", "echo: four",
        ])
        let seqs = messages.compactMap { $0["seq"] as? Int }
        #expect(seqs == seqs.sorted() && Set(seqs).count == 8, "seq: \(seqs)")
        // Each turn is one job: user and assistant message share it, and the four turns differ.
        let jobIDs = messages.map { $0["job_id"] as? String ?? "" }
        #expect(Set(jobIDs).count == 4, "job IDs: \(jobIDs)")
        for turn in 0..<4 { #expect(jobIDs[2 * turn] == jobIDs[2 * turn + 1]) }

        // `list` is a table with the expected columns.
        let list = try cli.runOK(["sessions", "list"])
        let rows = tableRows(list)
        #expect(rows.first == ["ID", "Agent", "Title", "Status", "Msgs", "Last Active", "Host"], "list: \(list)")
        // The host is this home's stable ID, made once in <home>/host-id.
        let host = try String(contentsOfFile: cli.home + "/host-id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!host.isEmpty)
        #expect(rows.dropFirst().contains(where: { $0 == [id, "echo", "-", "idle", "8", "just now", host] }), "list: \(list)")
        #expect(try cli.runOK(["sessions", "get", id]).contains("Host:         \(host)"))
    }

    @Test func listFiltersByAgentAndStatus() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(#"{"name":"helper","provider":"echo","model":"echo"}"#)
        let echoOne = try cli.runOK(["sessions", "create", "echo"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let echoTwo = try cli.runOK(["sessions", "create", "echo", "--input", "hello"])
        let echoTwoID = try #require(firstSessionID(in: echoTwo))
        let helperOutput = try cli.runOK(["sessions", "create", "helper", "--input", "hey"])
        let helperID = try #require(firstSessionID(in: helperOutput))
        _ = try cli.runOK(["sessions", "end", echoOne, "--yes"])

        let all = Set(try cli.sessionList().compactMap { $0["session_id"] as? String })
        #expect(all == [echoOne, echoTwoID, helperID])

        let helpers = try cli.sessionList(["--agent", "helper"])
        #expect(helpers.map { $0["session_id"] as? String } == [helperID])
        #expect(helpers.first?["message_count"] as? Int == 2)
        let echoes = Set(try cli.sessionList(["--agent", "echo"]).compactMap { $0["session_id"] as? String })
        #expect(echoes == [echoOne, echoTwoID])

        let ended = try cli.sessionList(["--status", "ended"])
        #expect(ended.map { $0["session_id"] as? String } == [echoOne])
        let idle = Set(try cli.sessionList(["--status", "idle"]).compactMap { $0["session_id"] as? String })
        #expect(idle == [echoTwoID, helperID])
        let both = try cli.sessionList(["--agent", "echo", "--status", "idle"])
        #expect(both.map { $0["session_id"] as? String } == [echoTwoID])

        // The table filters the same way.
        let table = try cli.runOK(["sessions", "list", "--agent", "helper"])
        let rows = tableRows(table)
        #expect(rows.count == 2, "table: \(table)")
        #expect(rows.last?.first == helperID, "table: \(table)")

        let bogus = try cli.run(["sessions", "list", "--status", "sleepy"])
        #expect(bogus.exitCode != 0)
        #expect(bogus.stderr.contains("--status"), "stderr: \(bogus.stderr)")
    }

    @Test func inputFromStdinAndItsConflictWithInput() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let fromStdin = try cli.run(["sessions", "create", "echo", "--input-stdin", "-"], stdin: "piped in\n")
        #expect(fromStdin.exitCode == 0, "stderr: \(fromStdin.stderr)")
        #expect(transcriptLines(fromStdin.stdout) == ["You > piped in", "Agent > echo: piped in"], "stdout: \(fromStdin.stdout)")
        let id = try #require(firstSessionID(in: fromStdin.stdout))

        let send = try cli.run(["sessions", "send", id, "--input-stdin", "-"], stdin: "line one\nline two\n")
        #expect(send.exitCode == 0, "stderr: \(send.stderr)")
        let messages = try cli.transcript(id)
        #expect(messages.count == 4)
        #expect(messages.last?["content"] as? String == "echo: line one\nline two")

        let both = try cli.run(["sessions", "create", "echo", "--input", "a", "--input-stdin", "-"], stdin: "b\n")
        #expect(both.exitCode == 64, "exit \(both.exitCode); stderr: \(both.stderr)")
        #expect(both.stderr.contains("--input and --input-stdin cannot be used together"), "stderr: \(both.stderr)")
        let bothOnSend = try cli.run(["sessions", "send", id, "--input", "a", "--input-stdin", "-"], stdin: "b\n")
        #expect(bothOnSend.exitCode == 64, "exit \(bothOnSend.exitCode); stderr: \(bothOnSend.stderr)")
        // Neither usage error created or changed anything.
        #expect(try cli.sessionList().count == 1)
        #expect(try cli.transcript(id).count == 4)
    }

    @Test func createWithoutInputMakesAnIdleEmptySessionWithChosenIDAndTitle() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let plain = try cli.runOK(["sessions", "create", "echo"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(plain.hasPrefix("ses_") && !plain.contains("\n"), "stdout: \(plain)")
        let plainDocument = try cli.sessionDocument(plain)
        #expect(plainDocument["status"] as? String == "idle")
        #expect(plainDocument["message_count"] as? Int == 0)
        #expect((plainDocument["messages"] as? [Any])?.isEmpty == true)
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty, "a session without input enqueued a turn")
        #expect(exists(cli.workspace(plain)), "no workspace for \(plain)")

        let named = try cli.runOK(["sessions", "create", "echo", "--session-id", "my-id", "--title", "Shopping list"])
        #expect(named.trimmingCharacters(in: .whitespacesAndNewlines) == "my-id")
        let get = try cli.runOK(["sessions", "get", "my-id"])
        #expect(get.contains("Session:      my-id"), "get: \(get)")
        #expect(get.contains("Title:        Shopping list"), "get: \(get)")
        #expect(get.contains("Messages:     0"), "get: \(get)")
        #expect(try cli.sessionDocument("my-id")["title"] as? String == "Shopping list")
        let rows = tableRows(try cli.runOK(["sessions", "list"]))
        #expect(rows.contains(where: { Array($0.prefix(6)) == ["my-id", "echo", "Shopping list", "idle", "0", "just now"] }), "rows: \(rows)")

        // The ID is taken now.
        let again = try cli.run(["sessions", "create", "echo", "--session-id", "my-id"])
        #expect(again.exitCode != 0)
        #expect(again.stderr.contains("my-id"), "stderr: \(again.stderr)")
    }

    @Test func noWaitPrintsTheJobAndAWorkerRunsIt() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["sessions", "create", "echo", "--session-id", "later", "--input", "in a while", "--no-wait"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        let jobID = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(jobID.hasPrefix("job_") && firstJobID(in: jobID) == jobID, "stdout: \(output.stdout)")

        let queued = try cli.job(jobID)
        #expect(queued["status"] as? String == "queued")
        #expect(queued["session"] as? String == "later")
        #expect(queued["agent"] as? String == "echo")
        #expect(try cli.sessionDocument("later")["message_count"] as? Int == 0)

        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")
        let done = try cli.job(jobID)
        #expect(done["status"] as? String == "succeeded")
        #expect(done["response"] as? String == "echo: in a while")
        let messages = try cli.transcript("later")
        #expect(messages.map { $0["content"] as? String } == ["in a while", "echo: in a while"])
        #expect(messages.allSatisfy { $0["job_id"] as? String == jobID })
        #expect(try cli.result(jobID: jobID)["session"] as? String == "later")
    }

    // MARK: Errors

    @Test func unknownAndAmbiguousIDsFailWithExactMessages() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["sessions", "create", "echo", "--session-id", "ab-1"])
        _ = try cli.runOK(["sessions", "create", "echo", "--session-id", "ab-2"])

        for command in [["sessions", "get", "zzz"], ["sessions", "send", "zzz", "--input", "x"], ["sessions", "end", "zzz", "--yes"]] {
            let output = try cli.run(command)
            #expect(output.exitCode != 0, "\(command)")
            #expect(output.stderr.contains("No session found matching 'zzz'"), "\(command): \(output.stderr)")
        }

        let ambiguous = try cli.run(["sessions", "get", "ab-"])
        #expect(ambiguous.exitCode != 0)
        #expect(ambiguous.stderr.contains("Ambiguous ID 'ab-' — matches: ab-1, ab-2"), "stderr: \(ambiguous.stderr)")
        #expect(ambiguous.stdout.isEmpty, "stdout: \(ambiguous.stdout)")
        let ambiguousSend = try cli.run(["sessions", "send", "ab", "--input", "x"])
        #expect(ambiguousSend.exitCode != 0)
        #expect(ambiguousSend.stderr.contains("Ambiguous ID 'ab' — matches: ab-1, ab-2"), "stderr: \(ambiguousSend.stderr)")
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty, "a failed send enqueued a turn")

        // A unique prefix resolves.
        #expect(try cli.runOK(["sessions", "get", "ab-2"]).contains("Session:      ab-2"))

        let unknownAgent = try cli.run(["sessions", "create", "nobody", "--input", "x"])
        #expect(unknownAgent.exitCode != 0)
        #expect(unknownAgent.stderr.contains("nobody"), "stderr: \(unknownAgent.stderr)")
    }

    @Test func anEndedSessionCannotBeResumedButKeepsItsHistory() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let created = try cli.runOK(["sessions", "create", "echo", "--input", "hi"])
        let id = try #require(firstSessionID(in: created))
        let workspace = cli.workspace(id)
        #expect(exists(workspace))
        try Data("scratch".utf8).write(to: URL(fileURLWithPath: workspace + "/scratch.txt"))

        let userDir = cli.files + "/mine"
        let chosen = try cli.runOK(["sessions", "create", "echo", "--session-id", "kept", "--workdir", userDir, "--input", "hey"])
        #expect(chosen.contains("Session:  kept"))
        #expect(try cli.sessionDocument("kept")["workdir"] as? String == URL(fileURLWithPath: userDir).resolvingSymlinksInPath().path)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: userDir + "/own.txt"))

        let end = try cli.run(["sessions", "end", id, "--yes"])
        #expect(end.exitCode == 0, "stderr: \(end.stderr)")
        #expect(end.stdout.contains("\(id): ended"), "stdout: \(end.stdout)")
        #expect(!exists(workspace), "the workspace \(workspace) is still there")

        let expected = "Session '\(id)' has status 'ended' and cannot be resumed"
        let send = try cli.run(["sessions", "send", id, "--input", "again"])
        #expect(send.exitCode != 0)
        #expect(send.stderr.contains(expected), "stderr: \(send.stderr)")
        let resume = try cli.run(["sessions", "resume", id])
        #expect(resume.exitCode != 0)
        #expect(resume.stderr.contains(expected), "stderr: \(resume.stderr)")
        let endAgain = try cli.run(["sessions", "end", id, "--yes"])
        #expect(endAgain.exitCode != 0)
        #expect(!exists(workspace), "send/resume brought the workspace back")

        let get = try cli.run(["sessions", "get", id])
        #expect(get.exitCode == 0, "stderr: \(get.stderr)")
        #expect(get.stdout.contains("Status:       ended"), "get: \(get.stdout)")
        #expect(transcriptLines(get.stdout) == ["You > hi", "Agent > echo: hi"], "get: \(get.stdout)")
        #expect(try cli.transcript(id).count == 2, "the refused send changed the transcript")

        // A --workdir the user chose is kept, files included.
        _ = try cli.runOK(["sessions", "end", "kept", "--yes"])
        #expect(try cli.sessionDocument("kept")["status"] as? String == "ended")
        #expect(fileLines(userDir + "/own.txt") == ["mine"], "the user's workdir was removed")
    }

    // MARK: Pause and resume

    @Test func aPausedSessionKeepsItsTurnQueuedUntilResumed() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["sessions", "create", "echo", "--session-id", "hold", "--input", "before"])
        let pause = try cli.runOK(["sessions", "pause", "hold"])
        #expect(pause.contains("hold: paused"), "stdout: \(pause)")
        #expect(try cli.sessionDocument("hold")["status"] as? String == "paused")

        let send = try cli.run(["sessions", "send", "hold", "--input", "x"])
        #expect(send.exitCode == 0, "stderr: \(send.stderr)")
        #expect(send.stderr.contains("paused"), "stderr: \(send.stderr)")
        let jobID = try #require(firstJobID(in: send.stderr), "no job ID in: \(send.stderr)")
        #expect(try cli.status(ofJob: jobID) == "queued")
        #expect(exists(cli.workspace("hold")), "pausing removed the workspace")

        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")
        #expect(try cli.status(ofJob: jobID) == "queued")
        #expect(try cli.transcript("hold").count == 2, "the paused turn ran")

        let resume = try cli.runOK(["sessions", "resume", "hold"])
        #expect(resume.contains("hold: idle"), "stdout: \(resume)")
        let second = try cli.run(["worker", "--drain"])
        #expect(second.exitCode == 0, "stderr: \(second.stderr)")
        let job = try cli.job(jobID)
        #expect(job["status"] as? String == "succeeded")
        #expect(job["response"] as? String == "echo: x")
        #expect(try cli.transcript("hold").map { $0["content"] as? String } == ["before", "echo: before", "x", "echo: x"])
        #expect(try cli.sessionDocument("hold")["status"] as? String == "idle")
    }

    // MARK: Tools

    @Test func toolsWorkInTheWorkspaceAcrossMessagesAndStayInsideIt() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(scribeAgent)
        _ = try cli.runOK(["sessions", "create", "scribe", "--session-id", "other"])
        try Data("the vault code is 4711".utf8).write(to: URL(fileURLWithPath: cli.workspace("other") + "/secret.txt"))

        let first = try cli.run([
            "sessions", "create", "scribe", "--session-id", "notes",
            "--input", #"/tool write_file {"path":"notes.txt","content":"remember the milk"}"#,
        ])
        #expect(first.exitCode == 0, "stderr: \(first.stderr)")
        #expect(fileLines(cli.workspace("notes") + "/notes.txt") == ["remember the milk"])

        let second = try cli.jsonObject(["sessions", "send", "notes", "--json", "--input", #"/tool read_file {"path":"notes.txt"}"#])
        let turn = try #require(second["turn"] as? [String: Any])
        let response = try #require(turn["response"] as? String)
        #expect(response.contains("remember the milk"), "response: \(response)")
        #expect(turn["status"] as? String == "succeeded")
        #expect(turn["steps"] as? Int == 2)
        let jobID = try #require(second["job_id"] as? String)

        // The result file lists the tool call.
        let result = try cli.result(jobID: jobID)
        let calls = try #require(result["tool_calls"] as? [[String: Any]])
        #expect(calls.count == 1)
        let call = try #require(calls.first)
        #expect(call["name"] as? String == "read_file")
        #expect(call["arguments"] as? String == #"{"path":"notes.txt"}"#)
        #expect(call["result"] as? String == "remember the milk")
        #expect(call["duration_ms"] is Int, "duration_ms: \(String(describing: call["duration_ms"]))")
        #expect(call["is_error"] as? Bool == false)

        // Outside the workspace: refused.
        for path in ["/etc/passwd", "../other/secret.txt"] {
            let refused = try cli.jsonObject([
                "sessions", "send", "notes", "--json", "--input", #"/tool read_file {"path":"\#(path)"}"#,
            ])
            let refusedTurn = try #require(refused["turn"] as? [String: Any])
            let refusedCalls = try #require(refusedTurn["tool_calls"] as? [[String: Any]])
            #expect(refusedCalls.count == 1, "\(path)")
            #expect(refusedCalls.first?["is_error"] as? Bool == true, "\(path): \(refusedCalls)")
            let text = refusedCalls.first?["result"] as? String ?? ""
            #expect(text.contains("outside the workspace"), "\(path): \(text)")
            let refusedJob = try #require(refused["job_id"] as? String)
            let file = try cli.result(jobID: refusedJob)
            #expect((file["tool_calls"] as? [[String: Any]])?.first?["is_error"] as? Bool == true)
        }
        let everything = try cli.run(["sessions", "get", "notes", "--json"])
        #expect(!everything.stdout.contains("4711"), "the secret leaked into the transcript")
        #expect(!everything.stdout.contains("root:x:0:0"), "/etc/passwd leaked into the transcript")
        let tools = try cli.transcript("notes").filter { $0["role"] as? String == "tool" }
        #expect(tools.count == 4)
        #expect(tools.map { $0["is_error"] as? Bool } == [false, false, true, true])
    }

    @Test func bashInTheSandboxCannotReachLoopbackButUnsandboxedCan() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try cli.addAgent(scribeAgent)
        try cli.addAgent(#"{"name":"open","provider":"echo","model":"echo","tools":["bash"],"sandbox":"none"}"#)
        let listener = try LoopbackListener()
        let command = "/tool bash " + #"{"command":"exec 3<>/dev/tcp/127.0.0.1/\#(listener.port) && echo connected"}"#

        let sandboxed = try cli.jsonObject(["sessions", "create", "scribe", "--json", "--input", command])
        let sandboxedCall = try #require(((sandboxed["turn"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first)
        #expect(sandboxedCall["name"] as? String == "bash")
        #expect(sandboxedCall["is_error"] as? Bool == true, "call: \(sandboxedCall)")
        #expect(!(sandboxedCall["result"] as? String ?? "connected").contains("connected"), "call: \(sandboxedCall)")

        let open = try cli.jsonObject(["sessions", "create", "open", "--json", "--input", command])
        let openCall = try #require(((open["turn"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first)
        #expect(openCall["is_error"] as? Bool == false, "call: \(openCall)")
        #expect((openCall["result"] as? String ?? "").contains("connected"), "call: \(openCall)")
        withExtendedLifetime(listener) {}
    }

    // MARK: agentq run

    @Test func runSingleAnswersOnce() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["run", "echo", "hello", "--single"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.contains("Agent > echo: hello"), "stdout: \(output.stdout)")
        #expect(output.stdout.contains("Completed in"), "stdout: \(output.stdout)")
        let id = try #require(firstSessionID(in: output.stderr), "no resume hint: \(output.stderr)")
        #expect(try cli.sessionDocument(id)["message_count"] as? Int == 2)
    }

    @Test func runInteractiveAnswersEveryLineUntilExit() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["run", "echo"], stdin: "first\nsecond\nexit\n")
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(output.stdout.contains("You > "), "stdout: \(output.stdout)")
        #expect(output.stdout.components(separatedBy: "You > ").count - 1 == 3, "three prompts; stdout: \(output.stdout)")
        #expect(output.stdout.contains("Agent > echo: first"), "stdout: \(output.stdout)")
        #expect(output.stdout.contains("Agent > echo: second"), "stdout: \(output.stdout)")
        #expect(!output.stdout.contains("echo: exit"), "stdout: \(output.stdout)")
        let first = output.stdout.range(of: "Agent > echo: first")
        let second = output.stdout.range(of: "Agent > echo: second")
        if let first, let second { #expect(first.lowerBound < second.lowerBound) }

        let id = try #require(firstSessionID(in: output.stderr), "no resume hint: \(output.stderr)")
        #expect(output.stderr.contains("agentq sessions send \(id)"), "stderr: \(output.stderr)")
        let document = try cli.sessionDocument(id)
        #expect(document["message_count"] as? Int == 4)
        #expect((document["messages"] as? [[String: Any]])?.map { $0["content"] as? String }
            == ["first", "echo: first", "second", "echo: second"])
        #expect(document["status"] as? String == "idle")
    }
}

// MARK: - Several processes and timing

extension MultiProcess {
    @Suite struct SessionProcessTests {
        @Test func aWorkerKilledMidTurnResumesWithoutRunningAFinishedToolAgain() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"""
                {"name":"stepper","provider":"echo","model":"echo","tools":["bash"],"options":{"latency_ms":1500,"tool_calls":[{"name":"bash","arguments":{"command":"echo run >> count.txt"}},{"name":"bash","arguments":{"command":"echo second >> second.txt"}}]}}
                """#)
            let created = try cli.run(["sessions", "create", "stepper", "--session-id", "durable", "--input", "go", "--no-wait"])
            #expect(created.exitCode == 0, "stderr: \(created.stderr)")
            let jobID = try #require(firstJobID(in: created.stdout), "stdout: \(created.stdout)")

            let worker = try cli.start(["worker", "--lease", "2"])
            defer { stopIfRunning(worker) }
            let toolDone = try eventually(within: 20) {
                try cli.transcript("durable").contains { $0["role"] as? String == "tool" }
            }
            try #require(toolDone, "the first tool never finished; worker stderr: \(worker.stderrSoFar)")
            worker.signal(SIGKILL)
            _ = worker.wait()
            #expect(worker.process.terminationReason == .uncaughtSignal)
            let atKill = try cli.transcript("durable")
            #expect(atKill.filter { $0["role"] as? String == "tool" }.count == 1, "killed too late: \(atKill)")
            #expect(fileLines(cli.workspace("durable") + "/count.txt") == ["run"])

            let second = try cli.run(["worker", "--drain", "--lease", "2"])
            #expect(second.exitCode == 0, "stderr: \(second.stderr)")
            let job = try cli.job(jobID)
            #expect(job["status"] as? String == "succeeded", "job: \(job)")
            #expect(job["attempts"] as? Int == 2)
            #expect(fileLines(cli.workspace("durable") + "/count.txt") == ["run"], "the finished tool ran again")
            #expect(fileLines(cli.workspace("durable") + "/second.txt") == ["second"])

            let messages = try cli.transcript("durable")
            let ofJob = messages.filter { $0["job_id"] as? String == jobID }
            #expect(ofJob.count == messages.count)
            #expect(ofJob.filter { $0["role"] as? String == "user" }.count == 1, "transcript: \(ofJob)")
            #expect(ofJob.map { $0["role"] as? String ?? "?" } == ["user", "assistant", "tool", "assistant", "tool", "assistant"])
            let callIDs = ofJob.flatMap { ($0["tool_calls"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } }
            #expect(callIDs.count == 2)
            for callID in callIDs {
                let results = ofJob.filter { $0["role"] as? String == "tool" && $0["tool_call_id"] as? String == callID }
                #expect(results.count == 1, "\(callID): \(results.count) results")
                #expect(results.first?["is_error"] as? Bool == false)
            }
            let result = try cli.result(jobID: jobID)
            #expect(result["attempts"] as? Int == 2)
            #expect((result["tool_calls"] as? [Any])?.count == 2)
            #expect(result["steps"] as? Int == 3)
        }

        @Test func cancellingARunningBashStopsTheTurnWithinTwoSeconds() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let seconds = "30.\(Int.random(in: 100_000...999_999))"
            try cli.addAgent(#"""
                {"name":"sleeper","provider":"echo","model":"echo","tools":["bash"],"options":{"tool_calls":[{"name":"bash","arguments":{"command":"touch started; sleep \#(seconds)"}}]}}
                """#)
            let worker = try cli.start(["worker"])
            defer { stopIfRunning(worker) }
            let created = try cli.run(["sessions", "create", "sleeper", "--session-id", "nap", "--input", "go", "--no-wait"])
            #expect(created.exitCode == 0, "stderr: \(created.stderr)")
            let jobID = try #require(firstJobID(in: created.stdout))

            let started = eventually(within: 20) { exists(cli.workspace("nap") + "/started") }
            try #require(started, "bash never started; worker stderr: \(worker.stderrSoFar)")
            #expect(try cli.status(ofJob: jobID) == "running")
            #expect(eventually(within: 5) { !livingSleeps(seconds).isEmpty }, "no sleep process seen")

            let cancelStarted = Date()
            let cancel = try cli.run(["sessions", "cancel", "nap"])
            #expect(cancel.exitCode == 0, "stderr: \(cancel.stderr)")
            #expect(cancel.stdout.contains("\(jobID): running; cancel requested"), "stdout: \(cancel.stdout)")

            var job: [String: Any] = [:]
            let cancelled = try eventually(within: 10) {
                job = try cli.job(jobID)
                return job["status"] as? String == "cancelled"
            }
            #expect(cancelled, "still \(job["status"] ?? "?") after 10 s")
            let finishedAt = try #require(isoDate(job["finished_at"] as? String), "job: \(job)")
            let elapsed = finishedAt.timeIntervalSince(cancelStarted)
            #expect(elapsed <= 2.0, "cancelled \(elapsed) s after the cancel command started")

            let messages = try cli.transcript("nap")
            let toolResults = messages.filter { $0["role"] as? String == "tool" }
            #expect(toolResults.count == 1, "transcript: \(messages)")
            #expect(toolResults.first?["is_error"] as? Bool == true)
            let toolText = toolResults.first?["content"] as? String ?? ""
            #expect(toolText.contains("cancelled"), "tool result: \(toolResults)")
            #expect(try cli.sessionDocument("nap")["status"] as? String == "idle")

            #expect(eventually(within: 2) { livingSleeps(seconds).isEmpty }, "sleep still running: \(livingSleeps(seconds))")

            #expect(worker.process.isRunning, "the worker stopped; stderr: \(worker.stderrSoFar)")
            worker.signal(SIGTERM)
            let exit = worker.wait()
            #expect(exit.exitCode == 0, "worker stderr: \(exit.stderr)")
        }

        @Test func idleSessionsTimeOutUnlessTheirAgentWaitsLonger() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let environment = ["AGENTQ_IDLE_TIMEOUT_SECONDS": "1"]
            try cli.addAgent(#"{"name":"patient","provider":"echo","model":"echo","idle_timeout_seconds":3600}"#)

            let quick = try cli.run(["sessions", "create", "echo", "--input", "hi"], environment: environment)
            #expect(quick.exitCode == 0, "stderr: \(quick.stderr)")
            let id = try #require(firstSessionID(in: quick.stdout))
            let patient = try cli.run(
                ["sessions", "create", "patient", "--session-id", "slowpoke", "--input", "hi"], environment: environment)
            #expect(patient.exitCode == 0, "stderr: \(patient.stderr)")

            var sessions: [[String: Any]] = []
            let timedOut = try eventually(within: 6) {
                sessions = try cli.sessionList(environment: environment)
                return sessions.first { $0["session_id"] as? String == id }?["status"] as? String == "timeout"
            }
            #expect(timedOut, "sessions: \(sessions)")
            let table = try cli.run(["sessions", "list"], environment: environment)
            let row = tableRows(table.stdout).first { $0.first == id }
            #expect(row?[3] == "timeout", "table: \(table.stdout)")
            #expect(!exists(cli.workspace(id)), "the timed-out workspace is still there")

            let send = try cli.run(["sessions", "send", id, "--input", "again"], environment: environment)
            #expect(send.exitCode != 0)
            #expect(send.stderr.contains("Session '\(id)' has status 'timeout' and cannot be resumed"), "stderr: \(send.stderr)")

            // The agent's own idle timeout wins over the default.
            #expect(sessions.first { $0["session_id"] as? String == "slowpoke" }?["status"] as? String == "idle")
            #expect(try cli.sessionList(environment: environment).first { $0["session_id"] as? String == "slowpoke" }?["status"] as? String == "idle")
            #expect(exists(cli.workspace("slowpoke")))
            let follow = try cli.run(["sessions", "send", "slowpoke", "--input", "still here"], environment: environment)
            #expect(follow.exitCode == 0, "stderr: \(follow.stderr)")
            #expect(transcriptLines(follow.stdout) == ["You > still here", "Agent > echo: still here"])
        }
    }
}
