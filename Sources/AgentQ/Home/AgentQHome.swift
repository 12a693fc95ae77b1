import Foundation

/// The state directory: the database, `results/` and `workspaces/`.
///
/// Resolved from an explicit path, else `AGENTQ_HOME`, else `~/.agentq`, and always made
/// absolute, so cron jobs do not depend on the directory they start in.
///
/// ```swift
/// let home = try AgentQHome.resolve(explicit: nil)
/// print(home.databasePath)   // /root/.agentq/agentq.db
/// ```
public struct AgentQHome: Sendable, Hashable {
    public let root: URL

    public init(root: URL) { self.root = root.standardizedFileURL }

    public var databasePath: String { root.appendingPathComponent("agentq.db").path }
    public var resultsDirectory: URL { root.appendingPathComponent("results", isDirectory: true) }
    public var workspacesDirectory: URL { root.appendingPathComponent("workspaces", isDirectory: true) }
    /// One Unix socket per listening worker, through which other processes wake it.
    public var wakeDirectory: URL { root.appendingPathComponent("wake", isDirectory: true) }

    public func resultFile(jobID: String) -> URL { resultsDirectory.appendingPathComponent("\(jobID).json") }

    /// Picks the home directory.
    /// - throws: ``AgentQError`` `.invalidHome` when `AGENTQ_HOME` is set but empty or no home can be found.
    public static func resolve(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AgentQHome {
        let path: String
        if let explicit {
            guard !explicit.isEmpty else { throw AgentQError(.invalidHome, "--home is empty") }
            path = explicit
        } else if let fromEnvironment = environment["AGENTQ_HOME"] {
            guard !fromEnvironment.isEmpty else {
                throw AgentQError(.invalidHome, "AGENTQ_HOME is set but empty; unset it or give a directory")
            }
            path = fromEnvironment
        } else if let userHome = environment["HOME"], !userHome.isEmpty {
            path = userHome + "/.agentq"
        } else {
            throw AgentQError(.invalidHome, "cannot find a home directory: set AGENTQ_HOME or pass --home DIR")
        }
        let expanded = (path as NSString).expandingTildeInPath
        let absolute = expanded.hasPrefix("/")
            ? expanded : FileManager.default.currentDirectoryPath + "/" + expanded
        return AgentQHome(root: URL(fileURLWithPath: absolute, isDirectory: true))
    }

    /// Creates the directories if they are missing.
    /// - throws: ``AgentQError`` `.invalidHome` naming the directory that could not be made.
    public func prepare() throws {
        for directory in [root, resultsDirectory, workspacesDirectory] {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw AgentQError(.invalidHome, "cannot create \(directory.path): \(error.localizedDescription)")
            }
        }
    }
}
