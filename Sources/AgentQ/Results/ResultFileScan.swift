import Foundation
import JobQueue

/// Counts and removes result files with `readdir` and `fstatat` on one directory descriptor:
/// a million files take a second, not the minutes (and gigabytes) of FileManager's attribute
/// dictionaries.
///
/// ```swift
/// let (files, bytes) = try ResultFileScan(directory: home.resultsDirectory).totals()
/// ```
public struct ResultFileScan: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Result files (`*.json`; temporary files of writes in progress are left out) and their bytes.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    public func totals() throws -> (files: Int, bytes: Int64) {
        var files = 0
        var bytes: Int64 = 0
        try forEachResultFile { _, info in
            files += 1
            bytes += Int64(info.st_size)
            return false
        }
        return (files, bytes)
    }

    /// Removes (or with `dryRun` only counts) the result files last written before `cutoff`.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    public func removeFiles(writtenBefore cutoff: Timestamp, dryRun: Bool) throws -> (files: Int, bytes: Int64) {
        try removeEntries(matching: Self.isResultFile, writtenBefore: cutoff, dryRun: dryRun)
    }

    /// Removes the result files of these jobs; files that are not there are skipped.
    /// - returns: files removed and their bytes.
    public func removeFiles(ofJobs ids: [String]) -> (files: Int, bytes: Int64) {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return (0, 0) }
        defer { close(descriptor) }
        var files = 0
        var bytes: Int64 = 0
        var info = stat()
        for id in ids {
            let name = id + ".json"
            guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if unlinkat(descriptor, name, 0) == 0 {
                files += 1
                bytes += Int64(info.st_size)
            }
        }
        return (files, bytes)
    }

    /// Removes (or with `dryRun` only counts) the temporary files (`.<job id>.<random>.tmp`) of
    /// writes that died between creating the file and renaming it, a crash or a kill -9 of the
    /// writer. A write takes milliseconds: anything untouched since `cutoff` is abandoned.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    public func removeAbandonedTemporaryFiles(untouchedSince cutoff: Timestamp, dryRun: Bool) throws -> (files: Int, bytes: Int64) {
        try removeEntries(matching: { $0.hasPrefix(".job_") && $0.hasSuffix(".tmp") }, writtenBefore: cutoff, dryRun: dryRun)
    }

    private static func isResultFile(_ name: String) -> Bool { name.hasSuffix(".json") && !name.hasPrefix(".") }

    /// Removes (or with `dryRun` only counts) the regular files of the directory whose name
    /// `matches` and that were last written before `cutoff`.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    public func removeEntries(matching matches: (String) -> Bool, writtenBefore cutoff: Timestamp, dryRun: Bool) throws
        -> (files: Int, bytes: Int64)
    {
        var files = 0
        var bytes: Int64 = 0
        try forEachEntry(matching: matches) { _, info in
            let written = Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000
            guard written < cutoff.milliseconds else { return false }
            files += 1
            bytes += Int64(info.st_size)
            return !dryRun
        }
        return (files, bytes)
    }

    /// Calls `body` with each regular `*.json` file's name and status; removes the file when
    /// `body` returns true.
    private func forEachResultFile(_ body: (String, stat) throws -> Bool) throws {
        try forEachEntry(matching: Self.isResultFile, body)
    }

    /// Calls `body` with each regular file whose name `matches`, and its status; removes the
    /// file when `body` returns true.
    private func forEachEntry(matching matches: (String) -> Bool, _ body: (String, stat) throws -> Bool) throws {
        let descriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { return }
            throw AgentQError(.io, "cannot read \(directory.path): \(String(cString: strerror(errno)))")
        }
        guard let stream = fdopendir(descriptor) else {
            close(descriptor)
            throw AgentQError(.io, "cannot read \(directory.path): \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        let listing = dirfd(stream)
        var info = stat()
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard matches(name) else { continue }
            guard fstatat(listing, name, &info, AT_SYMLINK_NOFOLLOW) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if try body(name, info) { unlinkat(listing, name, 0) }
        }
    }
}
