import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a path argument lands in the workspace: an open descriptor of the directory that holds
/// it, and the name in that directory (nil when the path is that directory itself).
///
/// The walk starts from a descriptor of the workspace and opens one component at a time with
/// `openat(…, O_NOFOLLOW | O_DIRECTORY)`, so every step is checked on the very directory the next
/// step uses: a symlink swapped in between a check and a use cannot lead outside (there is no
/// path string to re-resolve). A symlink on the way is read with `readlinkat` and its target
/// walked again the same way: a relative target from the link's directory, an absolute one only
/// when it names the workspace (`/workspace/…` or the workspace's own path). `..` goes back to
/// the directory the walk came from, and refuses to go above the workspace. The tools then open
/// `name` with `O_NOFOLLOW` relative to ``directory`` and write by `renameat` into it.
///
/// ```swift
/// let location = try WorkspaceLocation(WorkspacePath(argument: "notes/a.txt", workspace: url),
///                                      workspace: url, creatingDirectories: true, noun: "file")
/// let file = openat(location.directory.raw, location.name!, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
/// ```
struct WorkspaceLocation {
    /// Symlinks followed (and races retried) in one walk before it gives up, as the kernel's own limit.
    static let maximumLinks = 40

    /// The path as the model gave it, for messages.
    let argument: String
    /// The directory holding ``name``, or the target itself when ``name`` is nil.
    let directory: FileDescriptor
    /// The last component, never `.`, `..` or containing `/`; nil for a directory reached by `.` or `..`.
    let name: String?
    /// Where the path really lands, relative to the workspace and free of symlinks; `.` for the workspace.
    let relative: String

    /// Walks `path` from the workspace.
    ///
    /// - parameter creatingDirectories: create the missing parent directories (with `mkdirat`, one
    ///   at a time); otherwise a missing parent is reported as "NOUN 'path' does not exist".
    /// - throws: ``ToolProblem`` when the path leads outside the workspace, loops through symlinks,
    ///   crosses something that is not a directory, or a directory cannot be opened or created.
    init(_ path: WorkspacePath, workspace: URL, creatingDirectories: Bool, noun: String) throws {
        let argument = path.argument
        let rootPath = try WorkspacePath.realPath(of: workspace)
        let rootDescriptor = open(rootPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootDescriptor >= 0 else {
            throw ToolProblem("cannot open the workspace \(workspace.path): \(FileDescriptor.describe(errno))")
        }
        let root = FileDescriptor(rootDescriptor)
        // stack[i] is the directory reached by names[0..<i]; stack[0] is the workspace.
        var stack = [root]
        var names: [String] = []
        // Components below the last directory that exists: they hold no symlinks, so `..` among them is textual.
        var missing: [String] = []
        var final: String?
        var pending = Array(path.components.reversed())
        var linksFollowed = 0
        func outside(_ detail: String = "") -> ToolProblem {
            ToolProblem("path '\(argument)' is outside the workspace\(detail)")
        }
        func countLink() throws {
            linksFollowed += 1
            guard linksFollowed <= Self.maximumLinks else {
                throw ToolProblem("path '\(argument)' has too many levels of symbolic links")
            }
        }

        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                if !missing.isEmpty {
                    missing.removeLast()
                } else {
                    guard !names.isEmpty else { throw outside() }
                    stack.removeLast()
                    names.removeLast()
                }
                continue
            }
            if !missing.isEmpty {
                missing.append(component)
                continue
            }
            let here = stack[stack.count - 1]
            var info = stat()
            guard fstatat(here.raw, component, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                guard errno == ENOENT else {
                    throw ToolProblem("cannot reach '\(argument)': \(FileDescriptor.describe(errno))")
                }
                missing.append(component)
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                try countLink()
                guard let target = Self.symlinkTarget(in: here.raw, named: component) else {
                    // Changed since fstatat: look at it again.
                    pending.append(component)
                    continue
                }
                if target.hasPrefix("/") {
                    guard let inside = WorkspacePath.inside(absolute: target, workspace: workspace) else {
                        let link = (names + [component]).joined(separator: "/")
                        throw outside(" (the symbolic link '\(link)' points to '\(target)')")
                    }
                    stack = [root]
                    names = []
                    pending.append(contentsOf: inside.reversed())
                } else {
                    pending.append(contentsOf: WorkspacePath.split(target).reversed())
                }
            case _ where pending.isEmpty:
                // The last component: the tool opens it, with O_NOFOLLOW, in `here`.
                final = component
            case S_IFDIR:
                let opened = openat(here.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard opened >= 0 else {
                    if errno == EACCES {
                        throw ToolProblem("cannot reach '\(argument)': \(FileDescriptor.describe(errno))")
                    }
                    // Swapped for something else since fstatat: look at it again.
                    try countLink()
                    pending.append(component)
                    continue
                }
                stack.append(FileDescriptor(opened))
                names.append(component)
            default:
                let crossed = (names + [component]).joined(separator: "/")
                throw ToolProblem("path '\(argument)' goes through '\(crossed)', which is not a directory")
            }
        }

        if let last = missing.last {
            guard creatingDirectories else { throw ToolProblem("\(noun) '\(argument)' does not exist") }
            for component in missing.dropLast() {
                let here = stack[stack.count - 1]
                if mkdirat(here.raw, component, 0o755) != 0, errno != EEXIST {
                    throw ToolProblem("cannot create the directory for '\(argument)': \(FileDescriptor.describe(errno))")
                }
                // O_NOFOLLOW: a symlink raced in where the directory was just made is refused, not followed.
                let opened = openat(here.raw, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard opened >= 0 else {
                    throw ToolProblem("cannot create the directory for '\(argument)': \(FileDescriptor.describe(errno))")
                }
                stack.append(FileDescriptor(opened))
                names.append(component)
            }
            final = last
        }
        let all = names + (final.map { [$0] } ?? [])
        self.argument = argument
        directory = stack[stack.count - 1]
        name = final
        relative = all.isEmpty ? "." : all.joined(separator: "/")
    }

    /// Where the symlink `name` in `directory` (a descriptor, or `AT_FDCWD`) points, or nil when it is not a symlink.
    ///
    /// ```swift
    /// WorkspaceLocation.symlinkTarget(in: AT_FDCWD, named: "/bin")   // "usr/bin" on merged-/usr systems
    /// ```
    static func symlinkTarget(in directory: Int32, named name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard length >= 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Opens ``name`` (or the directory itself) with `flags` plus `O_NOFOLLOW | O_CLOEXEC`.
    /// - returns: the descriptor, or nil with `errno` set; `ELOOP` means a symlink was swapped in
    ///   after the walk, which is refused rather than followed.
    func openTarget(_ flags: Int32, mode: mode_t = 0) -> FileDescriptor? {
        let opened = openat(directory.raw, name ?? ".", flags | O_NOFOLLOW | O_CLOEXEC, mode)
        return opened >= 0 ? FileDescriptor(opened) : nil
    }
}
