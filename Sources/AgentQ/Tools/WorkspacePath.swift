import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A path argument resolved to a real absolute path that is inside the workspace.
///
/// Resolution follows every symlink the path crosses, component by component (including
/// dangling ones and symlinked parents), so that what the check sees is where a read or write
/// really lands. Components that do not exist yet are taken as written.
///
/// ```swift
/// let target = try WorkspacePath(argument: "notes/today.md", workspace: context.workspace)
/// try Data().write(to: URL(fileURLWithPath: target.resolved))
/// ```
struct WorkspacePath {
    /// The path as the model gave it, for messages.
    let argument: String
    /// The real absolute path, free of symlinks, `.` and `..` in its existing part.
    let resolved: String
    /// The workspace's real absolute path.
    let workspaceRoot: String

    /// The path relative to the workspace, `.` for the workspace itself.
    var relative: String {
        resolved == workspaceRoot ? "." : String(resolved.dropFirst(workspaceRoot.count + 1))
    }

    /// - throws: ``ToolProblem`` when the path is empty, loops through symlinks, or resolves outside the workspace.
    init(argument: String, workspace: URL) throws {
        guard !argument.isEmpty else { throw ToolProblem("path must not be empty") }
        guard !argument.contains("\0") else { throw ToolProblem("path '\(argument)' contains a NUL byte") }
        // The workspace itself may sit behind a symlink (/tmp → /private/tmp on macOS); compare real paths.
        guard let root = Self.resolve(workspace.path), Self.isDirectory(root) else {
            throw ToolProblem("the workspace \(workspace.path) does not exist")
        }
        let joined = argument.hasPrefix("/") ? argument : root + "/" + argument
        guard let resolved = Self.resolve(joined) else {
            throw ToolProblem("path '\(argument)' has too many levels of symbolic links")
        }
        guard resolved == root || resolved.hasPrefix(root == "/" ? "/" : root + "/") else {
            let via = Self.lexicallyNormalized(joined) == resolved ? "" : " (it resolves to \(resolved))"
            throw ToolProblem("path '\(argument)' is outside the workspace\(via)")
        }
        self.argument = argument
        self.resolved = resolved
        self.workspaceRoot = root
    }

    /// Follows `path` (absolute) through the file system as the kernel would, except that
    /// missing components are kept instead of failing; nil after 40 symlinks (a loop).
    static func resolve(_ path: String) -> String? {
        var pending = Array(path.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
        var resolved: [String] = []
        var linksFollowed = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                // `resolved` holds no symlinks, so its lexical parent is its real parent.
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            let candidate = "/" + (resolved + [component]).joined(separator: "/")
            guard let target = symlinkTarget(candidate) else {
                resolved.append(component)
                continue
            }
            linksFollowed += 1
            if linksFollowed > 40 { return nil }
            if target.hasPrefix("/") { resolved.removeAll() }
            pending.append(contentsOf: target.split(separator: "/", omittingEmptySubsequences: true).map(String.init).reversed())
        }
        return "/" + resolved.joined(separator: "/")
    }

    /// Where the symlink at `path` points, or nil when `path` is not a symlink (or does not exist).
    private static func symlinkTarget(_ path: String) -> String? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return nil }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` with `.` and `..` removed textually, to tell whether a symlink moved it.
    private static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == ".." { _ = parts.popLast() } else { parts.append(component) }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}
