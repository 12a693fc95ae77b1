/// How the `bash` tool isolates the commands a model asks it to run.
///
/// ```swift
/// let policy: SandboxPolicy = .bubblewrap(allowNetwork: false)   // the default
/// ```
public enum SandboxPolicy: Sendable, Hashable {
    /// Inside bubblewrap, seeing only what programs need: `/usr`, `/bin`, `/sbin`, `/lib*`, `/etc`
    /// and `/opt` read-only, its own `/dev`, `/proc` and private `/tmp`, and the session's
    /// workspace, writable, at `/workspace` (the working directory and `$HOME`). No other
    /// session's workspace, no agentq home or database, no `/root`, `/home` or `/var`; new user,
    /// PID, IPC and UTS namespaces, and no network unless `allowNetwork`.
    case bubblewrap(allowNetwork: Bool)
    /// Directly with `/bin/bash -c` in the workspace's real path, with no isolation at all: the
    /// command reads and writes whatever the worker's user can. Only when an agent definition
    /// says `"sandbox": "none"`.
    case none
}
