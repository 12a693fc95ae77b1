import Foundation

/// A temporary file inside the home that an upload is written to as it arrives, so a bulk file
/// of any size is never held in memory; ``AgentQueue/submit(fileAt:options:)`` then reads it a
/// chunk at a time.
///
/// Inside the home (`<home>/uploads/`), not `/tmp`: the same disk as the database, and a
/// home's owner can see and clear it. Used by one request at a time (not shared between threads).
///
/// ```swift
/// let spool = try UploadSpool(home: queue.home)
/// defer { spool.remove() }
/// try spool.write(chunk)
/// let report = try queue.submit(fileAt: try spool.finish(), options: options)
/// ```
public final class UploadSpool: @unchecked Sendable {
    public let url: URL
    private var descriptor: Int32
    /// Bytes written so far.
    public private(set) var count = 0

    /// Creates an empty file of a name of its own in `<home>/uploads/`.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    public init(home: AgentQHome) throws {
        let directory = home.root.appendingPathComponent("uploads", isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentQError(.io, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        var template = Array((directory.path + "/upload-XXXXXX.jsonl").utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 6) }
        guard created >= 0 else {
            throw AgentQError(.io, "cannot create a file in \(directory.path): \(String(cString: strerror(errno)))")
        }
        descriptor = created
        url = URL(fileURLWithPath: template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Appends bytes.
    /// - throws: ``AgentQError`` `.io` naming the file (a full disk, say).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard descriptor >= 0 else { throw AgentQError(.io, "\(url.path) is already closed") }
        var written = 0
        while written < bytes.count {
            let result = Foundation.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                throw AgentQError(.io, "cannot write \(url.path): \(String(cString: strerror(errno)))")
            }
            written += result
        }
        count += written
    }

    /// Closes the file and returns where it is, for reading.
    public func finish() -> URL {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
        return url
    }

    /// Closes and deletes the file; safe to call more than once.
    public func remove() {
        _ = finish()
        unlink(url.path)
    }
}
