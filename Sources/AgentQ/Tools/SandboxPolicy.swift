/// How the `bash` tool isolates the commands a model asks it to run.
///
/// ```swift
/// let policy: SandboxPolicy = .bubblewrap(allowNetwork: false)   // the default
/// ```
public enum SandboxPolicy: Sendable, Hashable {
    /// Inside bubblewrap: the system read-only, only the workspace writable, a private `/tmp`,
    /// new user, PID, IPC and UTS namespaces, and no network unless `allowNetwork`.
    case bubblewrap(allowNetwork: Bool)
    /// Directly with `/bin/bash -c` in the workspace; only when an agent definition says `"sandbox": "none"`.
    case none
}
