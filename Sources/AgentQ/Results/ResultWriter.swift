import Foundation
import JobQueue

/// Writes `<home>/results/<job_id>.json` for every finished job: the ``JobQueue/FinishedJobSink`` of agentq.
///
/// A file is always whole and never goes back to an older state:
/// - each write goes to a temporary name of its own in the same directory, is fsynced, and is
///   renamed into place; the directory is fsynced after (one fsync for the renames of every
///   writer that finished meanwhile: ``DirectorySync``), so a reader sees the old file or the
///   whole new one, even after a power loss. A group of jobs is written in one pass: every
///   temporary file, one `syncfs` of the file system for all of them (one flush to the disk
///   instead of one per file), then the renames;
/// - writes of one job are serialized (a lock per job stripe, across threads and processes),
///   and a state older than the one on disk (by ``JobQueue/Job/version``, the document's last
///   field) is not written over it.
///
/// ```swift
/// let writer = ResultWriter(directory: home.resultsDirectory)
/// try writer.deliver(finishedJobs)
/// ```
public struct ResultWriter: FinishedJobSink {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Writes each job's file, then makes the renames durable with one directory fsync.
    /// - throws: ``AgentQError`` `.io` naming the file.
    public func deliver(_ jobs: [Job]) throws {
        guard !jobs.isEmpty else { return }
        let lock = ResultFileLock(directory: directory.path)
        defer { lock.close() }
        var wrote = false
        if jobs.count == 1 {
            wrote = try write(jobs[0], lock: lock)
        } else {
            wrote = try writeGroup(jobs, lock: lock)
        }
        if wrote { try DirectorySync.shared(for: directory.path).sync() }
    }

    /// A file written but not yet renamed into place.
    private struct Staged {
        var job: Job
        var temporaryPath: String
        var finalPath: String
    }

    /// Writes every job's temporary file, makes them all durable with one `syncfs`, then renames
    /// each into place unless a newer state got there meanwhile, holding every job's lock at
    /// once for the renames (one lock instead of two per job). The temporary files need no
    /// lock: each has a name of its own, and the version is checked again before the rename.
    /// - returns: whether any file was renamed into place.
    private func writeGroup(_ jobs: [Job], lock: ResultFileLock) throws -> Bool {
        var staged: [Staged] = []
        staged.reserveCapacity(jobs.count)
        var renamed = 0
        defer { for entry in staged.dropFirst(renamed) { unlink(entry.temporaryPath) } }
        for job in jobs {
            let temporary = try writeTemporary(job, bytes: Self.document(job), synced: false)
            staged.append(Staged(job: job, temporaryPath: temporary, finalPath: directory.path + "/" + job.id + ".json"))
        }
        guard let first = staged.first else { return false }
        try syncFileSystem(of: first.temporaryPath, orEach: staged.map(\.temporaryPath))
        return try lock.withEveryStripe {
            var wrote = false
            for entry in staged {
                if let onDisk = Self.version(ofFileAt: entry.finalPath), onDisk > entry.job.version {
                    unlink(entry.temporaryPath)
                } else {
                    guard rename(entry.temporaryPath, entry.finalPath) == 0 else {
                        throw ioError("cannot move the result into \(entry.finalPath)")
                    }
                    wrote = true
                }
                renamed += 1
            }
            return wrote
        }
    }

    /// glibc's `syncfs`, which Swift's Glibc module does not show (it needs `_GNU_SOURCE`).
    private static let syncfs: (@convention(c) (Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
    }()

    /// One flush of the whole file system (all the group's files at once); where `syncfs`
    /// fails, each file is fsynced instead.
    private func syncFileSystem(of path: String, orEach paths: [String]) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            if let syncfs = Self.syncfs, syncfs(descriptor) == 0 { return }
        }
        for path in paths {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw ioError("cannot open \(path)") }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw ioError("cannot write \(path) to disk") }
        }
    }

    /// Writes one job's file (unless a newer state of it is already there).
    /// - throws: ``AgentQError`` `.io` naming the file.
    public func write(_ job: Job) throws {
        try deliver([job])
    }

    /// - returns: whether the file was written (false: a newer state was already there).
    private func write(_ job: Job, lock: ResultFileLock) throws -> Bool {
        let finalPath = directory.path + "/" + job.id + ".json"
        let bytes = Self.document(job)
        return try lock.withLock(key: job.id) {
            if let onDisk = Self.version(ofFileAt: finalPath), onDisk > job.version { return false }
            let temporaryPath = try writeTemporary(job, bytes: bytes, synced: true)
            guard rename(temporaryPath, finalPath) == 0 else {
                let error = ioError("cannot move the result into \(finalPath)")
                unlink(temporaryPath)
                throw error
            }
            return true
        }
    }

    /// The file's bytes, made before taking the job's lock so the lock is held only for the I/O.
    private static func document(_ job: Job) -> [UInt8] {
        var bytes = ResultDocument.bytes(for: job)
        bytes.append(0x0A)
        return bytes
    }

    /// Writes the job's document to a temporary file of its own, fsynced when `synced`.
    /// - returns: the temporary file's path.
    private func writeTemporary(_ job: Job, bytes: [UInt8], synced: Bool) throws -> String {
        let temporaryPath = directory.path + "/." + job.id + "." + TemporaryName.next() + ".tmp"
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ioError("cannot create \(temporaryPath)") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = ioError("cannot write \(temporaryPath)")
                close(descriptor)
                unlink(temporaryPath)
                throw error
            }
            written += result
        }
        if synced && fsync(descriptor) != 0 {
            let error = ioError("cannot write \(temporaryPath) to disk")
            close(descriptor)
            unlink(temporaryPath)
            throw error
        }
        close(descriptor)
        return temporaryPath
    }

    /// The `"version"` a result file ends with, read from its last bytes; nil when there is no
    /// file or it has none (written by an older agentq), so it is simply replaced.
    static func version(ofFileAt path: String) -> Int64? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        let length = min(Int(info.st_size), 48)
        var tail = [UInt8](repeating: 0, count: length)
        let read = tail.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, length, off_t(Int(info.st_size) - length)) }
        guard read == length else { return nil }
        let text = String(decoding: tail, as: UTF8.self)
        guard let marker = text.range(of: "\"version\":", options: .backwards) else { return nil }
        return Int64(text[marker.upperBound...].prefix { $0.isNumber })
    }

    /// Removes a job's result file (before the job runs again).
    public func remove(jobID: String) {
        unlink(directory.path + "/" + jobID + ".json")
    }

    private func ioError(_ what: String) -> AgentQError {
        AgentQError(.io, "\(what): \(String(cString: strerror(errno)))")
    }
}
