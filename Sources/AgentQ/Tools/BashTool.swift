import Foundation
import JobQueue

/// `bash {command, timeout_seconds?}`: runs a shell command in the workspace, sandboxed by
/// bubblewrap unless the agent opted out.
///
/// The result is stdout and stderr interleaved, capped at 64 KiB, then `exit code: N` (or
/// `killed: timed out after N s`); a non-zero exit is an error result. In the sandbox the
/// system is read-only, only the workspace is writable, `/tmp` is private, there is no network
/// unless allowed, and the environment is cleared so the worker's secrets (API keys) stay out.
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
        "Run a bash command in the workspace (the current directory) and return its combined stdout and stderr "
            + "(up to 64 KiB) and exit code. Each call starts a fresh shell; files written in the workspace persist. "
            + "Commands run in a sandbox: the rest of the system is read-only and the network is usually off."
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
            // The real path: bubblewrap binds it at the same place, and the shell's pwd should match.
            let workspace = try WorkspacePath(argument: ".", workspace: context.workspace).resolved
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
                commandLine = Self.bubblewrapArguments(workspace: workspace, allowNetwork: allowNetwork) + [
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

    /// The bubblewrap options, in an order that matters: the private `/tmp` is mounted before
    /// the workspace is bound, so a workspace under /tmp stays visible.
    static func bubblewrapArguments(workspace: String, allowNetwork: Bool) -> [String] {
        var arguments = [
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", workspace, workspace,
            "--chdir", workspace,
            "--unshare-all",
        ]
        if allowNetwork { arguments.append("--share-net") }
        arguments += [
            "--die-with-parent",
            "--new-session",
            "--clearenv",
            "--setenv", "HOME", workspace,
            "--setenv", "PWD", workspace,
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
