import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads, writes and lists the workspace for the file tools, through the descriptors a
/// ``WorkspaceLocation`` walked to, with messages meant for the model.
///
/// Nothing here opens a path string: every open is `openat` with `O_NOFOLLOW` in the directory
/// the walk checked, and a write lands by `renameat` in that same directory, so a symlink
/// swapped in meanwhile is refused or replaced, never followed.
///
/// ```swift
/// let location = try WorkspaceLocation(path, workspace: url, creatingDirectories: false, noun: "file")
/// let text = try WorkspaceFileIO.readText(at: location, limit: 256 * 1024)
/// try WorkspaceFileIO.writeAtomically(Data("hi".utf8), to: location)
/// ```
enum WorkspaceFileIO {
    /// A file's text, or its first `limit` bytes (cut back to a whole character).
    struct Text {
        var text: String
        /// The file's full size in bytes.
        var totalBytes: Int
        var truncated: Bool
    }

    /// One entry of a directory listing.
    struct Entry {
        var name: String
        /// A real directory; a symlink to one is listed as the link it is.
        var isDirectory: Bool
    }

    /// Reads a regular UTF-8 file.
    /// - throws: ``ToolProblem`` when the file is missing, a directory, not a regular file, unreadable or not UTF-8.
    static func readText(at location: WorkspaceLocation, limit: Int? = nil) throws -> Text {
        let argument = location.argument
        // O_NONBLOCK: opening a FIFO must not hang; it is refused below like any non-regular file.
        guard let file = location.openTarget(O_RDONLY | O_NONBLOCK) else {
            switch errno {
            case ENOENT, ENOTDIR: throw ToolProblem("file '\(argument)' does not exist")
            case ELOOP: throw symlinkRaced(argument)
            default: throw ToolProblem("cannot read '\(argument)': \(FileDescriptor.describe(errno))")
            }
        }
        var info = stat()
        guard fstat(file.raw, &info) == 0 else {
            throw ToolProblem("cannot read '\(argument)': \(FileDescriptor.describe(errno))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw ToolProblem("'\(argument)' is a directory, not a file (list_files shows its entries)")
        default: throw ToolProblem("'\(argument)' is not a regular file")
        }
        let size = Int(info.st_size)
        // Read to the end when unlimited: the size may have changed since fstat.
        var data = try readAll(file, upTo: limit.map { min($0, size) }, argument: argument)
        let truncated = limit.map { size > $0 } ?? false
        if truncated { data = data.prefix(utf8Boundary(in: data)) }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ToolProblem("'\(argument)' is not UTF-8 text (a binary file?)")
        }
        return Text(text: text, totalBytes: max(size, data.count), truncated: truncated)
    }

    /// Replaces (or creates) the file in one step: a temporary file made with `openat` in the
    /// location's directory, renamed over the name with `renameat`, so readers never see half a
    /// file. Keeps an existing file's permissions. The walk that made `location` created the
    /// missing parent directories.
    /// - throws: ``ToolProblem`` when the target is a directory or the write fails; nothing is left behind.
    static func writeAtomically(_ data: Data, to location: WorkspaceLocation) throws {
        let argument = location.argument
        guard let name = location.name else { throw ToolProblem("'\(argument)' is a directory") }
        let directory = location.directory.raw
        var info = stat()
        var mode: mode_t = 0o644
        if fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw ToolProblem("'\(argument)' is a directory") }
            if (info.st_mode & S_IFMT) == S_IFREG { mode = info.st_mode & 0o7777 }
        }
        let temporary = ".\(name).\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw ToolProblem("cannot write '\(argument)': \(FileDescriptor.describe(errno))")
        }
        var failure: String?
        // openat() applies the umask; an existing file's mode is restored exactly.
        _ = fchmod(descriptor, mode)
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = FileDescriptor.describe(errno)
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0, failure == nil { failure = FileDescriptor.describe(errno) }
        // renameat replaces whatever the name is now, a symlink swapped in included, and never follows it.
        if failure == nil, renameat(directory, temporary, directory, name) != 0 { failure = FileDescriptor.describe(errno) }
        if let failure {
            unlinkat(directory, temporary, 0)
            throw ToolProblem("cannot write '\(argument)': \(failure)")
        }
    }

    /// The entries of the directory at `location`, unsorted, without `.` and `..`.
    /// - throws: ``ToolProblem`` when it is missing, not a directory, or cannot be read.
    static func entries(at location: WorkspaceLocation) throws -> [Entry] {
        let argument = location.argument
        guard let directory = location.openTarget(O_RDONLY | O_DIRECTORY) else {
            switch errno {
            case ENOENT: throw ToolProblem("directory '\(argument)' does not exist")
            case ENOTDIR: throw ToolProblem("'\(argument)' is not a directory (read_file reads files)")
            case ELOOP: throw symlinkRaced(argument)
            default: throw ToolProblem("cannot list '\(argument)': \(FileDescriptor.describe(errno))")
            }
        }
        // fdopendir takes the descriptor over; closedir closes it, so hand it a duplicate.
        let owned = dup(directory.raw)
        guard owned >= 0, let stream = fdopendir(owned) else {
            if owned >= 0 { close(owned) }
            throw ToolProblem("cannot list '\(argument)': \(FileDescriptor.describe(errno))")
        }
        defer { closedir(stream) }
        var entries: [Entry] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: entry.pointee.d_name)) {
                    String(cString: $0)
                }
            }
            if name == "." || name == ".." { continue }
            // AT_SYMLINK_NOFOLLOW: a symlink to a directory is listed as the link it is, not followed.
            var info = stat()
            let isDirectory = fstatat(directory.raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            entries.append(Entry(name: name, isDirectory: isDirectory))
        }
        return entries
    }

    /// Reads `file` to its end, or its first `count` bytes.
    private static func readAll(_ file: FileDescriptor, upTo count: Int?, argument: String) throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while count.map({ data.count < $0 }) ?? true {
            let wanted = min(buffer.count, count.map { $0 - data.count } ?? buffer.count)
            let got = buffer.withUnsafeMutableBytes { read(file.raw, $0.baseAddress!, wanted) }
            if got < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw ToolProblem("cannot read '\(argument)': \(FileDescriptor.describe(errno))")
            }
            if got == 0 { break }
            data.append(contentsOf: buffer[0..<got])
        }
        return data
    }

    /// The name became a symlink between the walk and the open: refused, never followed.
    private static func symlinkRaced(_ argument: String) -> ToolProblem {
        ToolProblem("'\(argument)' was replaced by a symbolic link while it was being opened; try again")
    }

    /// The length of the longest prefix of `data` that does not end inside a UTF-8 character.
    static func utf8Boundary(in data: Data) -> Int {
        let bytes = [UInt8](data.suffix(4))
        let base = data.count - bytes.count
        // Find the last lead byte; keep it only if all its continuation bytes are present.
        for index in stride(from: bytes.count - 1, through: 0, by: -1) where bytes[index] & 0xC0 != 0x80 {
            let lead = bytes[index]
            let length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            return bytes.count - index >= length ? data.count : base + index
        }
        return data.count
    }

    /// The underlying POSIX reason of a Foundation error, which reads better than its description.
    static func reason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return nsError.localizedDescription
    }
}
