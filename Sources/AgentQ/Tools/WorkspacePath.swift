import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A path argument of a file tool, taken apart into components relative to the workspace.
///
/// Nothing here touches the file system beyond finding the workspace's real path: what the
/// components lead to is decided by ``WorkspaceDirectory``, which walks them from a descriptor
/// of the workspace. Three spellings name something in the workspace: a relative path,
/// `/workspace/…` (where the sandboxed `bash` sees the workspace), and an absolute path that
/// starts with the workspace's own path. Every other absolute path is outside.
///
/// ```swift
/// let path = try WorkspacePath(argument: "/workspace/notes/today.md", workspace: context.workspace)
/// // path.components == ["notes", "today.md"]
/// ```
struct WorkspacePath {
    /// Where the sandboxed `bash` sees the workspace; the file tools accept it too.
    static let sandboxMountPoint = "/workspace"

    /// The path as the model gave it, for messages.
    let argument: String
    /// The components to walk from the workspace, as written: `.`, `..` and symlinks are the walker's business.
    let components: [String]

    /// - throws: ``ToolProblem`` when the path is empty, holds a NUL byte, or is an absolute path outside the workspace.
    init(argument: String, workspace: URL) throws {
        guard !argument.isEmpty else { throw ToolProblem("path must not be empty") }
        guard !argument.contains("\0") else { throw ToolProblem("path '\(argument)' contains a NUL byte") }
        self.argument = argument
        guard argument.hasPrefix("/") else {
            components = Self.split(argument)
            return
        }
        guard let inside = Self.inside(absolute: argument, workspace: workspace) else {
            throw ToolProblem("path '\(argument)' is outside the workspace")
        }
        components = inside
    }

    /// The components of `absolute` below the workspace, or nil when it does not start with
    /// `/workspace` or the workspace's path (as given, or real: it may sit behind a symlink,
    /// /tmp → /private/tmp on macOS). Only a prefix is compared; `..` after it is left to the walker.
    ///
    /// ```swift
    /// WorkspacePath.inside(absolute: "/workspace/a/b", workspace: url)   // ["a", "b"]
    /// ```
    static func inside(absolute: String, workspace: URL) -> [String]? {
        let parts = split(absolute)
        var roots = [split(sandboxMountPoint), split(workspace.path)]
        if let real = try? realPath(of: workspace) { roots.append(split(real)) }
        return roots.first { parts.starts(with: $0) }.map { Array(parts.dropFirst($0.count)) }
    }

    /// The workspace's real absolute path, free of symlinks.
    /// - throws: ``ToolProblem`` when the workspace does not exist or is not a directory.
    ///
    /// ```swift
    /// let real = try WorkspacePath.realPath(of: context.workspace)   // what bubblewrap binds at /workspace
    /// ```
    static func realPath(of workspace: URL) throws -> String {
        guard let path = resolvedPath(workspace.path) else {
            throw ToolProblem("the workspace \(workspace.path) does not exist")
        }
        guard isDirectory(path) else { throw ToolProblem("the workspace \(workspace.path) is not a directory") }
        return path
    }

    /// `path` with every symlink resolved (`realpath`), or nil when it does not exist.
    static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Whether `path` is a directory, following symlinks.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The non-empty components of `path`; `a//b/` is `["a", "b"]`.
    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
