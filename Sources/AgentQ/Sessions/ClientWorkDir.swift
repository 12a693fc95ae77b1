import Foundation

/// The check on a workspace directory a remote client names (`work_dir` of `POST /sessions`).
///
/// The CLI's `--workdir` comes from the user at the machine and is created when missing; a
/// directory named over HTTP must already exist (the server makes no directories on a
/// client's word), must be absolute, and must not lie in the agentq home, whose database,
/// results and other sessions' workspaces no agent may be handed.
///
/// ```swift
/// let directory = try ClientWorkDir.check("/srv/project", home: queue.home)
/// let session = try manager.create(agent: "coder", workdir: directory)
/// ```
public enum ClientWorkDir {
    /// - returns: the directory's real path (symlinks resolved).
    /// - throws: ``AgentQError`` `.invalidInput` naming `work_dir` and what is wrong with it.
    public static func check(_ path: String, home: AgentQHome) throws -> String {
        guard path.hasPrefix("/") else {
            throw AgentQError(.invalidInput, "work_dir must be an absolute path, not '\(path)'")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
            let real = ManagedWorkspace.realPath(path)
        else {
            throw AgentQError(.invalidInput, "work_dir '\(path)' is not an existing directory (the server creates none)")
        }
        let homeReal = ManagedWorkspace.realPath(home.root.path) ?? home.root.standardizedFileURL.path
        if real == homeReal || real.hasPrefix(homeReal.hasSuffix("/") ? homeReal : homeReal + "/") {
            throw AgentQError(.invalidInput, "work_dir '\(path)' lies in the agentq home, which no agent may be handed")
        }
        return real
    }
}
