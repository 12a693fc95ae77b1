import AgentQTesting
import Foundation
import JobQueue
import Testing

/// Every database fault a user can meet is reported as one sentence that names the file and
/// says what to do, with exit code 1: never SQLite's own text, never a stack trace.
@Suite("Database errors")
struct DatabaseErrorTests {
    /// Checks that `output` is a failure with one clear `agentq: …` line containing `expected`.
    static func expectOneSentence(
        _ output: AgentQProcess.Output, containing expected: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        expectOneSentence(
            NamespacedOutput(exitCode: output.exitCode, stderr: output.stderr), containing: expected,
            sourceLocation: sourceLocation)
    }

    /// What a command run in a mount namespace returned.
    struct NamespacedOutput {
        var exitCode: Int32
        var stderr: String
    }

    static func expectOneSentence(
        _ output: NamespacedOutput, containing expected: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let stderr = output.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(output.exitCode == 1, "exit \(output.exitCode); stderr: \(output.stderr)", sourceLocation: sourceLocation)
        #expect(stderr.hasPrefix("agentq: "), "stderr: \(output.stderr)", sourceLocation: sourceLocation)
        #expect(!stderr.contains("\n"), "more than one line: \(output.stderr)", sourceLocation: sourceLocation)
        for forbidden in ["SQLite error", "while executing", "Fatal error", "DatabaseError", "SQLITE_"] {
            #expect(!stderr.contains(forbidden), "stderr: \(output.stderr)", sourceLocation: sourceLocation)
        }
        for text in expected {
            #expect(stderr.contains(text), "expected \(text.debugDescription) in: \(output.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// Runs `agentq ARGUMENTS` inside a private mount namespace after `setup` (shell commands)
    /// has run there; `$AGENTQ` is the binary. The mounts vanish with the namespace.
    static func runInMountNamespace(
        _ cli: CLIHome, setup: String, _ arguments: [String], stdin: String? = nil
    ) throws -> NamespacedOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        let quoted = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        process.arguments = ["-m", "--propagation", "private", "sh", "-c", "set -e; \(setup); exec \"$AGENTQ\" \(quoted)"]
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTQ_HOME"] = cli.home
        environment["AGENTQ"] = AgentQProcess.binaryURL.path
        process.environment = environment
        // Output goes to files, so nothing has to drain pipes while the process runs.
        let outURL = cli.directory.url.appendingPathComponent("ns-\(UUID().uuidString).out")
        let errURL = cli.directory.url.appendingPathComponent("ns-\(UUID().uuidString).err")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let input = Pipe()
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return NamespacedOutput(
            exitCode: process.terminationStatus, stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    @Test("a text file where the database should be", arguments: ["text", "binary"])
    func notADatabase(kind: String) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let path = cli.home + "/agentq.db"
        if kind == "text" {
            try Data(String(repeating: "my shopping list: eggs, milk\n", count: 200).utf8).write(to: URL(fileURLWithPath: path))
        } else {
            var generator = SystemRandomNumberGenerator()
            try Data((0..<16384).map { _ in UInt8.random(in: 0...255, using: &generator) }).write(to: URL(fileURLWithPath: path))
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for arguments in [["jobs", "list"], ["submit", "-"], ["agents", "list"]] {
            let output = try cli.run(arguments, stdin: #"{"input": "hi"}"# + "\n")
            Self.expectOneSentence(output, containing: ["\(path) is not an agentq database"])
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "agentq changed a file it does not own")
    }

    @Test("a database written by a newer agentq")
    func schemaTooNew() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["agents", "list"])
        try cli.sqlite("INSERT INTO schema_migrations (name, applied_at) VALUES ('agentq-99-from-the-future', 0)")
        let output = try cli.run(["jobs", "list"])
        Self.expectOneSentence(
            output, containing: [cli.home + "/agentq.db", "was written by a newer agentq", "upgrade agentq"])
    }

    @Test("a read-only home")
    func readOnlyHome() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["agents", "list"])
        // Root ignores file modes, so the home is made read-only with a read-only bind mount.
        let setup = "mount --bind '\(cli.home)' '\(cli.home)'; mount -o remount,bind,ro '\(cli.home)'"
        for arguments in [["submit", "-"], ["jobs", "list"]] {
            let output = try Self.runInMountNamespace(cli, setup: setup, arguments, stdin: #"{"input": "hi"}"# + "\n")
            Self.expectOneSentence(output, containing: [cli.home + "/agentq.db", "read-only"])
        }
    }

    @Test("a full disk")
    func diskFull() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        try FileManager.default.createDirectory(atPath: cli.home, withIntermediateDirectories: true)
        let line = #"{"input": "\#(String(repeating: "x", count: 2000))"}"#
        let file = try cli.write(String(repeating: line + "\n", count: 1000), to: "big.jsonl")
        let setup = "mount -t tmpfs -o size=512k tmpfs '\(cli.home)'"
        let output = try Self.runInMountNamespace(cli, setup: setup, ["submit", file])
        Self.expectOneSentence(output, containing: [cli.home + "/agentq.db", "full"])
    }

    @Test("a database locked by another process for longer than the busy timeout", .timeLimit(.minutes(3)))
    func lockedTooLong() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        _ = try cli.runOK(["agents", "list"])
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys
            connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
            connection.execute("BEGIN EXCLUSIVE")
            print("locked", flush=True)
            sys.stdin.read()
            """, cli.home + "/agentq.db"]
        let out = Pipe(), input = Pipe()
        holder.standardOutput = out
        holder.standardInput = input
        try holder.run()
        defer {
            try? input.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        let ready = out.fileHandleForReading.availableData
        try #require(String(decoding: ready, as: UTF8.self).contains("locked"))
        let output = try cli.run(["submit", "-"], stdin: #"{"input": "hi"}"# + "\n")
        Self.expectOneSentence(output, containing: [cli.home + "/agentq.db", "locked by another process"])
    }
}
