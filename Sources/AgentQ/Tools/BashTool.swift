import Foundation
import JobQueue

/// `bash {command, timeout_seconds?}`: runs a shell command in the workspace, sandboxed by
/// bubblewrap unless the agent opted out.
///
/// The result is stdout and stderr interleaved, capped at 64 KiB, then `exit code: N` (or
/// `killed: timed out after N s`); a non-zero exit is an error result. In the sandbox a
/// command sees only what programs need: `/usr`, `/bin`, `/sbin`, `/lib*`, `/etc` and `/opt`
/// read-only, its own `/dev`, `/proc` and private `/tmp`, and the session's workspace,
/// writable, at `/workspace` (its working directory and `$HOME`). Nothing else of the host is
/// there: no other session's workspace, no agentq home or database, no `/root`, `/home` or
/// `/var`. There is no network unless allowed, and the environment is cleared so the worker's
/// secrets (API keys) stay out. With `sandbox: none` the command runs directly in the
/// workspace's real path and can reach whatever the worker's user can.
///
/// ```swift
/// let output = try BashTool().run(arguments: ["command": .string("ls -la")], context: context)
/// let unsandboxedTestDouble = BashTool(bubblewrapPath: "/nonexistent/bwrap")
/// ```
public struct BashTool: AgentTool {
    public static let defaultTimeoutSeconds: Double = 120
    public static let maximumTimeoutSeconds: Double = 600
    /// Output beyond this is dropped, with a marker, to keep the conversation small.
    public static let maximumOutputBytes = 64 * 1024

    /// Where bubblewrap is, or nil to look in /usr/bin and on PATH at each run.
    public let bubblewrapPath: String?

    /// - parameter bubblewrapPath: the `bwrap` executable; nil finds it in /usr/bin or on PATH.
    public init(bubblewrapPath: String? = nil) {
        self.bubblewrapPath = bubblewrapPath
    }

    public var name: String { "bash" }

    public var description: String {
        "Run a bash command in the workspace (the current directory, /workspace) and return its combined stdout "
            + "and stderr (up to 64 KiB) and exit code. Each call starts a fresh shell; files written in /workspace "
            + "persist. Commands run in a sandbox: only /workspace and a private /tmp are writable, the system is "
            + "read-only, and the network is usually off."
    }

    public var parametersSchema: String {
        #"{"type":"object","properties":{"command":{"type":"string","description":"The bash command to run."},"timeout_seconds":{"type":"number","description":"Kill the command after this many seconds (default 120, at most 600)."}},"required":["command"],"additionalProperties":false}"#
    }

    /// - throws: only `JobCancelled` when the token fired (once the command and its children are gone);
    ///   every other problem is an isError output.
    public func run(arguments: [String: JSONValue], context: ToolContext) throws -> ToolOutput {
        try context.token.checkCancelled()
        do {
            let arguments = ToolArguments(arguments)
            let command = try arguments.requiredString("command")
            let timeout = try Self.timeout(arguments.optionalNumber("timeout_seconds"))
            // The real path: bubblewrap binds it at /workspace; without a sandbox the shell's pwd should match.
            let workspace = try WorkspacePath.realPath(of: context.workspace)
            let executable: String
            let commandLine: [String]
            var environment: [String: String]?
            switch context.sandbox {
            case .none:
                executable = "/bin/bash"
                commandLine = ["-c", command]
                // No sandbox, but still none of the worker's variables: they hold the API keys.
                environment = [
                    "HOME": workspace, "PWD": workspace, "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "TMPDIR": ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp", "LANG": "C.UTF-8",
                ]
            case .bubblewrap(let allowNetwork):
                guard let bwrap = findBubblewrap() else { throw ToolProblem(missingBubblewrapMessage) }
                executable = bwrap
                let hidden = context.hiddenDirectories.map(\.path)
                commandLine = Self.bubblewrapArguments(workspace: workspace, allowNetwork: allowNetwork, hidden: hidden) + [
                    "/bin/bash", "-c", command,
                ]
            }
            let result = try CommandRunner.run(
                executable: executable, arguments: commandLine, directory: URL(fileURLWithPath: workspace),
                environment: environment, timeout: timeout, outputCap: Self.maximumOutputBytes, token: context.token)
            return Self.format(result, timeout: timeout)
        } catch let problem as ToolProblem {
            return problem.output
        }
    }

    /// Top-level directories of the host shown read-only in the sandbox, when they exist: what
    /// programs need to run (binaries, libraries, configuration, /opt toolchains) and nothing
    /// that holds users' data.
    static let systemDirectories = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"]

    /// The bubblewrap options: an empty root (bubblewrap's own tmpfs) holding only the system
    /// directories, read-only, a new `/dev`, `/proc` and `/tmp`, and the workspace at
    /// `/workspace`. Each `hidden` directory that lies inside a shown system directory is
    /// covered by an empty tmpfs. The root is made read-only last, once every mount point is in it.
    ///
    /// ```swift
    /// let options = BashTool.bubblewrapArguments(
    ///     workspace: "/opt/agentq/workspaces/s1", allowNetwork: false, hidden: ["/opt/agentq"])
    /// ```
    static func bubblewrapArguments(workspace: String, allowNetwork: Bool, hidden: [String] = []) -> [String] {
        var arguments: [String] = []
        for name in systemDirectories {
            let path = "/" + name
            // On merged-/usr systems /bin, /sbin and /lib* are symlinks into /usr: made again as symlinks.
            if let target = WorkspaceLocation.symlinkTarget(in: AT_FDCWD, named: path) {
                arguments += ["--symlink", target, path]
            } else if WorkspacePath.isDirectory(path) {
                arguments += ["--ro-bind", path, path]
            }
        }
        for directory in hidden {
            guard let real = WorkspacePath.resolvedPath(directory),
                systemDirectories.contains(where: { real.hasPrefix("/\($0)/") })
            else { continue }
            arguments += ["--tmpfs", real]
        }
        // With the network on, name resolution needs /etc/resolv.conf's target, often under /run.
        if allowNetwork, let resolver = WorkspacePath.resolvedPath("/etc/resolv.conf"), resolver != "/etc/resolv.conf",
            !systemDirectories.contains(where: { resolver.hasPrefix("/\($0)/") })
        {
            arguments += ["--ro-bind-try", resolver, resolver]
        }
        arguments += [
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", workspace, WorkspacePath.sandboxMountPoint,
            "--remount-ro", "/",
            "--chdir", WorkspacePath.sandboxMountPoint,
            "--unshare-all",
        ]
        if allowNetwork { arguments.append("--share-net") }
        arguments += [
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "HOME", WorkspacePath.sandboxMountPoint,
            "--setenv", "PWD", WorkspacePath.sandboxMountPoint,
            "--setenv", "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--setenv", "TMPDIR", "/tmp",
            "--setenv", "LANG", "C.UTF-8",
            "--",
        ]
        return arguments
    }

    /// - throws: ``ToolProblem`` when `timeout_seconds` is not a positive number; values above the maximum are lowered to it.
    static func timeout(_ requested: Double?) throws -> Double {
        guard let requested else { return defaultTimeoutSeconds }
        guard requested > 0, requested.isFinite else {
            throw ToolProblem("argument 'timeout_seconds' must be a number of seconds greater than 0")
        }
        return min(requested, maximumTimeoutSeconds)
    }

    /// The executable bubblewrap, or nil when it is not installed.
    func findBubblewrap() -> String? {
        let files = FileManager.default
        if let bubblewrapPath { return files.isExecutableFile(atPath: bubblewrapPath) ? bubblewrapPath : nil }
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = ["/usr/bin/bwrap"] + searchPath.split(separator: ":").map { "\($0)/bwrap" }
        return candidates.first { files.isExecutableFile(atPath: $0) }
    }

    var missingBubblewrapMessage: String {
        let looked = bubblewrapPath.map { "at \($0)" } ?? "in /usr/bin or on PATH"
        return "bash needs bubblewrap (bwrap) to sandbox commands, and it was not found \(looked). "
            + "Install it with `apt-get install -y bubblewrap`, or set \"sandbox\": \"none\" in the agent "
            + "definition to run commands without a sandbox."
    }

    static func format(_ result: CommandRunner.Result, timeout: Double) -> ToolOutput {
        let kept = result.output.prefix(WorkspaceFileIO.utf8Boundary(in: result.output))
        let truncated = result.totalBytes > result.output.count
        var text = String(decoding: kept, as: UTF8.self)
        if !text.isEmpty, !text.hasSuffix("\n") { text += "\n" }
        if truncated {
            text += "[output truncated: showed the first \(kept.count) of \(result.totalBytes) bytes]\n"
        }
        switch result.ending {
        case .exited(let status):
            return ToolOutput(content: text + "exit code: \(status)", isError: status != 0)
        case .signalled(let signal):
            return ToolOutput(content: text + "killed: signal \(signal)", isError: true)
        case .timedOut:
            let seconds = timeout.rounded() == timeout ? String(Int(timeout)) : String(timeout)
            return ToolOutput(content: text + "killed: timed out after \(seconds) s", isError: true)
        }
    }
}
