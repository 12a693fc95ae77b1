import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built-in agent tools: file tools confined to the workspace, and bash in bubblewrap.
@Suite("Agent tools")
struct ToolTests {
    // MARK: - Helpers

    /// A fresh workspace with its context; remove the directory when done.
    static func workspace(
        sandbox: SandboxPolicy = .bubblewrap(allowNetwork: false), token: CancellationToken = CancellationToken()
    ) throws -> (TemporaryDirectory, ToolContext) {
        let directory = try TemporaryDirectory(prefix: "agentq-tools")
        return (directory, ToolContext(workspace: directory.url, token: token, sandbox: sandbox))
    }

    static func run(_ tool: any AgentTool, _ arguments: [String: JSONValue], _ context: ToolContext) throws -> ToolOutput {
        try tool.run(arguments: arguments, context: context)
    }

    static func bash(
        _ command: String, _ context: ToolContext, timeout: Double? = nil, tool: BashTool = BashTool()
    ) throws -> ToolOutput {
        var arguments: [String: JSONValue] = ["command": .string(command)]
        if let timeout { arguments["timeout_seconds"] = .number(timeout) }
        return try tool.run(arguments: arguments, context: context)
    }

    static func contents(_ path: String) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
    }

    /// A `sleep` duration no other process on the machine uses, to find this test's sleeps in /proc.
    static func uniqueSleepSeconds() -> String {
        "29.\(Int.random(in: 100_000...999_999))"
    }

    /// Pids of processes, not yet zombies, whose command line is `sleep SECONDS`.
    static func livingSleeps(_ seconds: String) -> [Int32] {
        let wanted = "sleep\u{0}\(seconds)\u{0}"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry), let commandLine = contents("/proc/\(pid)/cmdline"),
                commandLine == wanted, isAlive(pid)
            else { return nil }
            return pid
        }
    }

    /// Whether `pid` exists and is not a zombie waiting for a parent that may never reap it.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = contents("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != nil && state != "Z" && state != "X"
    }

    /// Waits up to `seconds` for `condition`, which a process being killed needs a moment to meet.
    static func eventually(within seconds: Double = 3, _ condition: () -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    // MARK: - File tools

    @Test("write_file then read_file returns the same text, creating parent directories")
    func writeThenRead() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let written = try Self.run(
            WriteFileTool(), ["path": .string("notes/today.txt"), "content": .string("hello\nwörld\n")], context)
        #expect(written == ToolOutput(content: "wrote 13 bytes to notes/today.txt"))
        #expect(Self.contents(directory.path + "/notes/today.txt") == "hello\nwörld\n")
        // Atomic writes leave no temporary file behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/notes") == ["today.txt"])

        let read = try Self.run(ReadFileTool(), ["path": .string("notes/today.txt")], context)
        #expect(read == ToolOutput(content: "hello\nwörld\n"))

        // An absolute path inside the workspace is fine too, and overwriting replaces the content.
        let absolute = directory.url.appendingPathComponent("notes/today.txt").path
        _ = try Self.run(WriteFileTool(), ["path": .string(absolute), "content": .string("short")], context)
        #expect(try Self.run(ReadFileTool(), ["path": .string(absolute)], context) == ToolOutput(content: "short"))
    }

    @Test("read_file reports missing files, directories and binary files as errors")
    func readFileErrors() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path + "/dir", withIntermediateDirectories: true)
        try Data([0x66, 0xFF, 0xFE, 0x00]).write(to: directory.url.appendingPathComponent("blob.bin"))

        let missing = try Self.run(ReadFileTool(), ["path": .string("nope.txt")], context)
        #expect(missing.isError && missing.content.contains("does not exist"))
        let folder = try Self.run(ReadFileTool(), ["path": .string("dir")], context)
        #expect(folder.isError && folder.content.contains("is a directory"))
        let binary = try Self.run(ReadFileTool(), ["path": .string("blob.bin")], context)
        #expect(binary.isError && binary.content.contains("not UTF-8"))
    }

    @Test("read_file caps a large file at 256 KiB with a marker")
    func readFileCap() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        try directory.write(String(repeating: "abcdefg\n", count: 40_000), to: "big.txt")   // 320,000 bytes
        let output = try Self.run(ReadFileTool(), ["path": .string("big.txt")], context)
        #expect(!output.isError)
        #expect(output.content.hasSuffix("[file truncated: showed the first 262144 of 320000 bytes]"))
        #expect(output.content.utf8.count < 262_144 + 100)
    }

    @Test("edit_file replaces a unique match")
    func editUnique() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        try directory.write("colour = red\nsize = 3\n", to: "config.txt")
        let output = try Self.run(
            EditFileTool(),
            ["path": .string("config.txt"), "old_string": .string("red"), "new_string": .string("blue")], context)
        #expect(!output.isError)
        #expect(Self.contents(directory.path + "/config.txt") == "colour = blue\nsize = 3\n")
    }

    @Test("edit_file refuses an old_string that is not found, or found more than once")
    func editNotUnique() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let original = "a = 1\nb = 1\n"
        try directory.write(original, to: "values.txt")

        let missing = try Self.run(
            EditFileTool(), ["path": .string("values.txt"), "old_string": .string("c = 1"), "new_string": .string("x")],
            context)
        #expect(missing.isError && missing.content.contains("not found"))

        let twice = try Self.run(
            EditFileTool(), ["path": .string("values.txt"), "old_string": .string("= 1"), "new_string": .string("= 2")],
            context)
        #expect(twice.isError && twice.content.contains("matches 2 times"))
        #expect(Self.contents(directory.path + "/values.txt") == original)
    }

    @Test("list_files lists sorted entries with directories marked by a slash")
    func listFiles() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path + "/src/deep", withIntermediateDirectories: true)
        try directory.write("", to: "b.txt")
        try directory.write("", to: "a.txt")
        try directory.write("", to: ".hidden")
        try directory.write("", to: "src/main.swift")

        #expect(try Self.run(ListFilesTool(), [:], context) == ToolOutput(content: ".hidden\na.txt\nb.txt\nsrc/"))
        #expect(try Self.run(ListFilesTool(), ["path": .string("src")], context) == ToolOutput(content: "deep/\nmain.swift"))
        let notDirectory = try Self.run(ListFilesTool(), ["path": .string("a.txt")], context)
        #expect(notDirectory.isError && notDirectory.content.contains("not a directory"))
    }

    /// The tool calls that must not reach `target`, a path that escapes the workspace.
    static func escapingCalls(_ target: String) -> [(any AgentTool, [String: JSONValue])] {
        [
            (ReadFileTool(), ["path": .string(target)]),
            (WriteFileTool(), ["path": .string(target), "content": .string("pwned")]),
            (EditFileTool(), ["path": .string(target), "old_string": .string("root"), "new_string": .string("toor")]),
            (ListFilesTool(), ["path": .string(target)]),
        ]
    }

    @Test(
        "every file tool refuses paths outside the workspace",
        arguments: ["../outside.txt", "/etc/passwd", "passwd-link", "outside-dir/secret.txt", "sub/../../x", "/"])
    func refusesEscapes(target: String) throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let outside = try TemporaryDirectory(prefix: "agentq-outside")
        defer { outside.remove() }
        try outside.write("root:secret\n", to: "secret.txt")
        let files = FileManager.default
        try files.createSymbolicLink(atPath: directory.path + "/passwd-link", withDestinationPath: "/etc/passwd")
        try files.createSymbolicLink(atPath: directory.path + "/outside-dir", withDestinationPath: outside.path)
        let passwdBefore = Self.contents("/etc/passwd")
        let parent = directory.url.deletingLastPathComponent().path

        for (tool, arguments) in Self.escapingCalls(target) {
            let output = try Self.run(tool, arguments, context)
            #expect(output.isError, "\(tool.name) \(target): \(output.content)")
            #expect(output.content.contains("'\(target)' is outside the workspace"), "\(tool.name): \(output.content)")
        }
        #expect(Self.contents("/etc/passwd") == passwdBefore)
        #expect(Self.contents(outside.path + "/secret.txt") == "root:secret\n")
        #expect(!files.fileExists(atPath: parent + "/outside.txt"))
        #expect(!files.fileExists(atPath: parent + "/x"))
    }

    @Test("a symlink that stays inside the workspace is followed")
    func symlinkInsideIsAllowed() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path + "/real", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/alias", withDestinationPath: "real")
        let written = try Self.run(WriteFileTool(), ["path": .string("alias/f.txt"), "content": .string("ok")], context)
        #expect(written == ToolOutput(content: "wrote 2 bytes to real/f.txt"))
        #expect(Self.contents(directory.path + "/real/f.txt") == "ok")
    }

    @Test("missing or wrongly typed arguments are errors naming the argument")
    func argumentErrors() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let noPath = try Self.run(ReadFileTool(), [:], context)
        #expect(noPath.isError && noPath.content.contains("'path'"))
        let numberContent = try Self.run(WriteFileTool(), ["path": .string("a.txt"), "content": .number(3)], context)
        #expect(numberContent.isError && numberContent.content.contains("'content'"))
        let noNewString = try Self.run(
            EditFileTool(), ["path": .string("a.txt"), "old_string": .string("x")], context)
        #expect(noNewString.isError && noNewString.content.contains("'new_string'"))
        let noCommand = try Self.run(BashTool(), [:], context)
        #expect(noCommand.isError && noCommand.content.contains("'command'"))
        let badTimeout = try Self.run(
            BashTool(), ["command": .string("true"), "timeout_seconds": .string("5")], context)
        #expect(badTimeout.isError && badTimeout.content.contains("'timeout_seconds'"))
    }

    @Test("the registry knows the built-in tools and rejects unknown names")
    func registry() throws {
        #expect(ToolRegistry.builtInNames == ["bash", "read_file", "write_file", "edit_file", "list_files"])
        let tools = try ToolRegistry.tools(named: ToolRegistry.builtInNames)
        #expect(tools.map(\.name) == ToolRegistry.builtInNames)
        for tool in tools {
            let schema = try JSONSerialization.jsonObject(with: Data(tool.parametersSchema.utf8)) as? [String: Any]
            #expect(schema?["type"] as? String == "object", "\(tool.name)")
            #expect(!tool.description.isEmpty)
        }
        #expect(try ToolRegistry.tools(named: ["list_files", "bash"]).map(\.name) == ["list_files", "bash"])
        do {
            _ = try ToolRegistry.tools(named: ["bash", "web_search"])
            Issue.record("an unknown tool was accepted")
        } catch let error as AgentQError {
            #expect(error.code == .invalidAgent)
            #expect(error.message.contains("web_search"))
        }
    }

    // MARK: - bash

    @Test("bash returns stdout and stderr then the exit code", arguments: [SandboxPolicy.bubblewrap(allowNetwork: false), .none])
    func bashEcho(sandbox: SandboxPolicy) throws {
        let (directory, context) = try Self.workspace(sandbox: sandbox)
        defer { directory.remove() }
        let output = try Self.bash("echo hello; echo oops >&2", context)
        #expect(output == ToolOutput(content: "hello\noops\nexit code: 0"))
    }

    @Test("a non-zero exit is an error result")
    func bashFailure() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let output = try Self.bash("echo partial; exit 3", context)
        #expect(output == ToolOutput(content: "partial\nexit code: 3", isError: true))
    }

    @Test("bash runs in the workspace, with HOME there, and its writes persist", arguments: [SandboxPolicy.bubblewrap(allowNetwork: false), .none])
    func bashWritesPersist(sandbox: SandboxPolicy) throws {
        let (directory, context) = try Self.workspace(sandbox: sandbox)
        defer { directory.remove() }
        let output = try Self.bash("mkdir -p made && echo data > made/out.txt && pwd && echo \"$HOME\"", context)
        // In the sandbox the workspace is at /workspace; without one, at its real path.
        let expected = sandbox == .none ? try #require(WorkspaceRealPath.of(directory.path)) : "/workspace"
        #expect(output == ToolOutput(content: "\(expected)\n\(expected)\nexit code: 0"))
        #expect(Self.contents(directory.path + "/made/out.txt") == "data\n")
    }

    @Test("the sandbox keeps /etc and /usr read-only")
    func bashSystemReadOnly() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let name = "agentq-probe-\(UUID().uuidString.prefix(8))"
        defer {
            unlink("/etc/\(name)")
            unlink("/usr/\(name)")
        }
        for target in ["/etc/\(name)", "/usr/\(name)"] {
            let output = try Self.bash("echo x > \(target)", context)
            #expect(output.isError, "\(target): \(output.content)")
            #expect(output.content.contains("Read-only file system"), "\(output.content)")
            #expect(!FileManager.default.fileExists(atPath: target))
        }
    }

    @Test("the sandbox's /tmp is private")
    func bashPrivateTmp() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let tag = UUID().uuidString.prefix(8)
        let hostFile = "/tmp/agentq-host-\(tag)"
        let innerFile = "/tmp/agentq-inner-\(tag)"
        try Data("host".utf8).write(to: URL(fileURLWithPath: hostFile))
        defer {
            unlink(hostFile)
            unlink(innerFile)
        }
        let output = try Self.bash("cat \(hostFile) || echo unseen; echo inner > \(innerFile) && cat \(innerFile)", context)
        #expect(output.content.contains("unseen"), "\(output.content)")
        #expect(output.content.hasSuffix("inner\nexit code: 0"), "\(output.content)")
        #expect(!FileManager.default.fileExists(atPath: innerFile))
    }

    @Test("the sandbox has no network unless allowed; without a sandbox the same connection works")
    func bashNetwork() throws {
        let server = try ListeningSocket()
        defer { server.close() }
        let command = "exec 3<>/dev/tcp/127.0.0.1/\(server.port) && echo connected"

        let (sandboxed, sandboxedContext) = try Self.workspace()
        defer { sandboxed.remove() }
        let blocked = try Self.bash(command, sandboxedContext, timeout: 20)
        #expect(blocked.isError, "\(blocked.content)")
        #expect(!blocked.content.contains("connected"))

        let (open, openContext) = try Self.workspace(sandbox: .none)
        defer { open.remove() }
        let reached = try Self.bash(command, openContext, timeout: 20)
        #expect(reached == ToolOutput(content: "connected\nexit code: 0"))
    }

    @Test("a timeout kills the command and every child it started", arguments: [SandboxPolicy.bubblewrap(allowNetwork: false), .none])
    func bashTimeout(sandbox: SandboxPolicy) throws {
        let (directory, context) = try Self.workspace(sandbox: sandbox)
        defer { directory.remove() }
        let seconds = Self.uniqueSleepSeconds()
        // Looks for the sleeps while they run, so the check afterwards is known to see them.
        let seenWhileRunning = LockedCount()
        let probe = Thread {
            _ = Self.eventually(within: 1.2) { Self.livingSleeps(seconds).count >= 2 }
            seenWhileRunning.set(Self.livingSleeps(seconds).count)
        }
        probe.start()
        let started = Date()
        let output = try Self.bash("sleep \(seconds) & echo $! > bg.pid; sleep \(seconds); echo finished", context, timeout: 1.5)
        let elapsed = Date().timeIntervalSince(started)

        #expect(output.isError)
        #expect(output.content.hasSuffix("killed: timed out after 1.5 s"), "\(output.content)")
        #expect(!output.content.contains("finished"))
        #expect(elapsed < 6, "took \(elapsed) s")
        #expect(Self.eventually { seenWhileRunning.value != nil })
        #expect(seenWhileRunning.value == 2)
        #expect(Self.eventually { Self.livingSleeps(seconds).isEmpty }, "left behind: \(Self.livingSleeps(seconds))")
        if sandbox == .none {
            // Outside a PID namespace the pid file names the background sleep as the host sees it.
            let pid = try #require(Self.contents(directory.path + "/bg.pid").flatMap {
                Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
            })
            #expect(Self.eventually { kill(pid, 0) != 0 || !Self.isAlive(pid) })
        }
    }

    @Test("bash returns once the command exits, ending the children it left running", arguments: [SandboxPolicy.bubblewrap(allowNetwork: false), .none])
    func bashBackgroundChild(sandbox: SandboxPolicy) throws {
        let (directory, context) = try Self.workspace(sandbox: sandbox)
        defer { directory.remove() }
        let seconds = Self.uniqueSleepSeconds()
        let started = Date()
        let output = try Self.bash("sleep \(seconds) & echo started", context)
        let elapsed = Date().timeIntervalSince(started)
        #expect(output == ToolOutput(content: "started\nexit code: 0"))
        #expect(elapsed < 5, "took \(elapsed) s")
        #expect(Self.eventually { Self.livingSleeps(seconds).isEmpty }, "left behind: \(Self.livingSleeps(seconds))")
    }

    @Test("cancelling the token stops bash and throws JobCancelled within 2 s", arguments: [SandboxPolicy.bubblewrap(allowNetwork: false), .none])
    func bashCancel(sandbox: SandboxPolicy) throws {
        let token = CancellationToken()
        let (directory, context) = try Self.workspace(sandbox: sandbox, token: token)
        defer { directory.remove() }
        let seconds = Self.uniqueSleepSeconds()
        let cancelledAt = LockedDate()
        let canceller = Thread {
            _ = Self.eventually(within: 5) { !Self.livingSleeps(seconds).isEmpty }
            cancelledAt.set(Date())
            token.cancel()
        }
        canceller.start()
        #expect(throws: JobCancelled.self) {
            _ = try Self.bash("sleep \(seconds) & sleep \(seconds)", context, timeout: 60)
        }
        let cancelled = try #require(cancelledAt.value)
        let delay = Date().timeIntervalSince(cancelled)
        #expect(delay < 2, "run() returned \(delay) s after the cancel")
        #expect(Self.eventually { Self.livingSleeps(seconds).isEmpty }, "left behind: \(Self.livingSleeps(seconds))")
    }

    @Test("a cancelled token stops every tool before it starts")
    func cancelledBeforeStart() throws {
        let token = CancellationToken()
        token.cancel()
        let (directory, context) = try Self.workspace(token: token)
        defer { directory.remove() }
        #expect(throws: JobCancelled.self) { _ = try Self.bash("touch ran", context) }
        #expect(throws: JobCancelled.self) { _ = try Self.run(ListFilesTool(), [:], context) }
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/ran"))
    }

    @Test("without bubblewrap bash explains how to install it or opt out")
    func bashWithoutBubblewrap() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        let tool = BashTool(bubblewrapPath: "/nonexistent/bin/bwrap")
        let output = try Self.bash("touch ran", context, tool: tool)
        #expect(output.isError)
        #expect(output.content.contains("bubblewrap"))
        #expect(output.content.contains("apt-get install -y bubblewrap"))
        #expect(output.content.contains(#""sandbox": "none""#))
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/ran"))

        // The opt-out needs no bubblewrap.
        var unsandboxed = context
        unsandboxed.sandbox = .none
        #expect(try Self.bash("echo ok", unsandboxed, tool: tool) == ToolOutput(content: "ok\nexit code: 0"))
    }

    @Test("bash output is capped at 64 KiB with a marker, and pipes end as in a terminal")
    func bashOutputCap() throws {
        let (directory, context) = try Self.workspace()
        defer { directory.remove() }
        // What SwiftNIO does in every agentq process that opens a socket: the command must
        // still get the default SIGPIPE (else `yes` prints "Broken pipe" and runs on).
        signal(SIGPIPE, SIG_IGN)
        let output = try Self.bash("yes | head -c 200000", context)
        #expect(!output.isError)
        #expect(output.content.hasPrefix("y\ny\n"))
        #expect(output.content.hasSuffix("[output truncated: showed the first 65536 of 200000 bytes]\nexit code: 0"))
        #expect(output.content.utf8.count < 65_536 + 100)
    }
}

/// The workspace as bash sees it: symlinks in the temporary directory's path resolved.
private enum WorkspaceRealPath {
    static func of(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// A value set by one thread and read by another.
private final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int?
    var value: Int? { lock.withLock { stored } }
    func set(_ value: Int) { lock.withLock { stored = value } }
}

/// A moment set by one thread and read by another.
private final class LockedDate: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Date?
    var value: Date? { lock.withLock { stored } }
    func set(_ value: Date) { lock.withLock { stored = value } }
}

/// A TCP server socket listening on 127.0.0.1 at a port the system picks; connections queue in
/// its backlog, so a client's connect succeeds without anyone calling accept.
private final class ListeningSocket: @unchecked Sendable {
    let descriptor: Int32
    let port: UInt16

    struct Failure: Error { var step: String }

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(step: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, address, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(descriptor)
            throw Failure(step: "bind/listen")
        }
        self.descriptor = descriptor
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() {
        Glibc.close(descriptor)
    }
}
