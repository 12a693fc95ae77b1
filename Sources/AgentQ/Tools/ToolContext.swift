import Foundation
import JobQueue

/// Where a tool runs: the session's workspace, the job's cancellation token, and the sandbox policy.
///
/// ```swift
/// let context = ToolContext(workspace: workspaceURL, token: token, sandbox: .bubblewrap(allowNetwork: false))
/// let output = try BashTool().run(arguments: ["command": .string("ls")], context: context)
/// ```
public struct ToolContext: Sendable {
    /// The directory the tools may read and write: absolute and existing.
    public var workspace: URL
    /// The running job's token; tools stop and throw ``JobQueue/JobCancelled`` when it fires.
    public var token: CancellationToken
    /// How `bash` isolates the commands it runs.
    public var sandbox: SandboxPolicy
    /// Directories the sandboxed `bash` must not see even where they lie inside a system
    /// directory it shows read-only (`/opt`, `/etc`, `/usr`): the agentq home, so that a home
    /// kept in `/opt` shows neither the database nor other sessions' workspaces.
    public var hiddenDirectories: [URL]

    public init(workspace: URL, token: CancellationToken, sandbox: SandboxPolicy, hiddenDirectories: [URL] = []) {
        self.workspace = workspace
        self.token = token
        self.sandbox = sandbox
        self.hiddenDirectories = hiddenDirectories
    }
}
