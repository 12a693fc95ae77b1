import Foundation

/// Removal of a workspace agentq made, confined to `<home>/workspaces`.
///
/// A path is removed only when its real path (symlinks resolved) lies strictly inside the
/// real path of the workspaces directory and its last component is not itself a symlink;
/// anything else (a stored path climbing out with `..`, a workspace swapped for a link to
/// another directory) is left alone. So a session row written by an older agentq, or edited
/// by hand, can never make agentq delete a directory outside the home.
///
/// ```swift
/// try ManagedWorkspace.remove(session.workdir, inside: home.workspacesDirectory)
/// ```
public enum ManagedWorkspace {
    /// Removes `path` and what it holds if it is a directory strictly inside `workspaces`.
    /// - returns: whether something was removed.
    /// - throws: the file system's error when a confined workspace cannot be removed.
    @discardableResult
    public static func remove(_ path: String, inside workspaces: URL) throws -> Bool {
        guard let confined = confinedPath(path, inside: workspaces) else { return false }
        try FileManager.default.removeItem(atPath: confined)
        return true
    }

    /// The real path of `path` when it exists, is not a symlink, and lies strictly inside
    /// `workspaces`; otherwise `nil`.
    public static func confinedPath(_ path: String, inside workspaces: URL) -> String? {
        var status = stat()
        // lstat: a workspace that is a link is not followed.
        guard lstat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR,
            let real = realPath(path), let root = realPath(workspaces.path)
        else { return nil }
        let prefix = root.hasSuffix("/") ? root : root + "/"
        guard real.hasPrefix(prefix), real.count > prefix.count else { return nil }
        return real
    }

    /// The path with every symlink resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
