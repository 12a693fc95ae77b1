import AgentQ
import Foundation

/// Where the bench makes its homes, and when it removes them.
///
/// The homes go into one directory for the run, under `--dir` (default `/var/tmp`, a disk on
/// every distribution, where `/tmp` is often memory) and are removed when the bench exits,
/// not after each measurement. Removing thousands of result files between two measurements
/// made the second slower on some file systems: ext4 without a journal (this machine's) skips
/// every inode freed in the last minutes when it allocates one, so creating a file right after
/// mass deletes scans past all of them. That is the bench's own doing, not agentq's cost.
///
/// ```swift
/// let home = try freshHome()   // BenchDirectory.run/agentq-bench-XXXXXXXX, removed at exit
/// ```
enum BenchDirectory {
    /// The parent of the run's directory: `--dir`, or `/var/tmp` where it is writable.
    nonisolated(unsafe) static var base: URL = {
        let varTmp = "/var/tmp"
        if FileManager.default.isWritableFile(atPath: varTmp) { return URL(fileURLWithPath: varTmp) }
        return URL(fileURLWithPath: NSTemporaryDirectory())
    }()

    /// This run's directory, made on first use and removed at exit with everything in it.
    static let run: URL = {
        let url = base.appendingPathComponent("agentq-bench-run-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: BenchDirectory.run) }
        return url
    }()

    /// How long the file system here takes to write `count` result files the way a worker
    /// does (one group through ``ResultWriter``: the temporary files, one `syncfs`, the renames,
    /// the directory fsync), in milliseconds. The files stay until exit.
    static func probe(count: Int = 1024) throws -> Double {
        let directory = run.appendingPathComponent("probe-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let jobs = (0..<count).map(FileSystemRatioBench.echoJob)
        let writer = ResultWriter(directory: directory)
        return try seconds { try writer.deliver(jobs) } * 1000
    }

    /// The probe as a line of the bench's output.
    static func probeLine() -> String {
        guard let milliseconds = try? probe() else { return "file system probe failed in \(run.path)" }
        return "file system in \(base.path): 1,024 result files written as one group in \(Int(milliseconds.rounded())) ms"
    }
}
