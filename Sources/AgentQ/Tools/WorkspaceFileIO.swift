import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads and writes files of the workspace for the file tools, with messages meant for the model.
///
/// ```swift
/// let text = try WorkspaceFileIO.readText(at: target, limit: 256 * 1024)
/// try WorkspaceFileIO.writeAtomically(Data("hi".utf8), to: target)
/// ```
enum WorkspaceFileIO {
    /// A file's text, or its first `limit` bytes (cut back to a whole character).
    struct Text {
        var text: String
        /// The file's full size in bytes.
        var totalBytes: Int
        var truncated: Bool
    }

    /// Reads a regular UTF-8 file.
    /// - throws: ``ToolProblem`` when the file is missing, a directory, unreadable or not UTF-8.
    static func readText(at path: WorkspacePath, limit: Int? = nil) throws -> Text {
        let size = try regularFileSize(path)
        guard let handle = FileHandle(forReadingAtPath: path.resolved) else {
            throw ToolProblem("cannot read '\(path.argument)': permission denied")
        }
        defer { try? handle.close() }
        let wanted = limit.map { min($0, size) } ?? size
        var data: Data
        do {
            // Read to the end when unlimited: the size may have changed since stat.
            data = try (limit == nil ? handle.readToEnd() : handle.read(upToCount: wanted)) ?? Data()
        } catch {
            throw ToolProblem("cannot read '\(path.argument)': \(error.localizedDescription)")
        }
        let truncated = limit.map { size > $0 } ?? false
        if truncated { data = data.prefix(utf8Boundary(in: data)) }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ToolProblem("'\(path.argument)' is not UTF-8 text (a binary file?)")
        }
        return Text(text: text, totalBytes: max(size, data.count), truncated: truncated)
    }

    /// Replaces (or creates) the file in one step: a temporary file in the same directory,
    /// renamed over the target, so readers never see half a file. Creates missing parent
    /// directories and keeps an existing file's permissions.
    /// - throws: ``ToolProblem`` when a parent is not a directory, the target is a directory, or the write fails.
    static func writeAtomically(_ data: Data, to path: WorkspacePath) throws {
        let target = path.resolved
        let directory = (target as NSString).deletingLastPathComponent
        var info = stat()
        var mode: mode_t = 0o644
        if stat(target, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFDIR { throw ToolProblem("'\(path.argument)' is a directory") }
            mode = info.st_mode & 0o7777
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ToolProblem("cannot create the directory for '\(path.argument)': \(reason(error))")
        }
        let temporary = directory + "/.\((target as NSString).lastPathComponent).\(UUID().uuidString.prefix(8)).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw ToolProblem("cannot write '\(path.argument)': \(String(cString: strerror(errno)))")
        }
        var failure: String?
        // open() applies the umask; an existing file's mode is restored exactly.
        _ = fchmod(descriptor, mode)
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                offset += written
            }
        }
        if close(descriptor) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil, rename(temporary, target) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(temporary)
            throw ToolProblem("cannot write '\(path.argument)': \(failure)")
        }
    }

    /// - throws: ``ToolProblem`` unless `path` is an existing regular file.
    private static func regularFileSize(_ path: WorkspacePath) throws -> Int {
        var info = stat()
        guard stat(path.resolved, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw ToolProblem("file '\(path.argument)' does not exist") }
            throw ToolProblem("cannot read '\(path.argument)': \(String(cString: strerror(errno)))")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return Int(info.st_size)
        case S_IFDIR: throw ToolProblem("'\(path.argument)' is a directory, not a file (list_files shows its entries)")
        default: throw ToolProblem("'\(path.argument)' is not a regular file")
        }
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
