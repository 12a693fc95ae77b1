import AgentQTesting
import Foundation
import Testing

/// `synchronous=NORMAL` leaves the last commits in the WAL file in the page cache: a power
/// cut can take them back. What agentq tells a user it has done (a submit, a cancel, a retry)
/// must be on the disk first: the process fsyncs the WAL after that commit and before it
/// answers. Checked with strace, which shows every fsync and the file it was for.
@Suite struct PowerCutDurabilityTests {
    /// The traced syscalls of `agentq ARGUMENTS` (writes and syncs, each with its file), in order.
    func trace(_ cli: CLIHome, _ arguments: [String]) throws -> [String] {
        let trace = cli.files + "/strace-\(UUID().uuidString.prefix(8)).txt"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        process.arguments = ["-f", "-y", "-e", "trace=write,pwrite64,fsync,fdatasync", "-o", trace, AgentQProcess.binaryURL.path]
            + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTQ_HOME"] = cli.home
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "agentq \(arguments) under strace exited \(process.terminationStatus)")
        return try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Whether every write to the WAL before the command's answer (its first write to
    /// standard output) is followed by an fsync of the WAL, also before the answer. Closing the
    /// database at exit syncs it too, but after the user was told.
    func syncedBeforeAnswering(_ calls: [String]) -> Bool {
        guard let answer = calls.firstIndex(where: { $0.contains("write(1<") }) else { return false }
        let before = calls[..<answer]
        let isWAL = { (line: String) in line.contains("agentq.db-wal>") }
        // SQLite writes the WAL with pwrite64.
        let isWrite = { (line: String) in line.contains("write(") || line.contains("write64(") }
        guard let lastWrite = before.lastIndex(where: { isWAL($0) && isWrite($0) }) else { return false }
        return before[(lastWrite + 1)...].contains { isWAL($0) && ($0.contains("fsync(") || $0.contains("fdatasync(")) }
    }

    @Test func submitCancelAndRetryReachTheDiskBeforeTheyAnswer() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "strace is needed (apt-get install -y strace)")
        let cli = try CLIHome()
        defer { cli.remove() }
        // A first command creates the home, so the traced ones see only their own work.
        _ = try cli.runOK(["agents", "list"])
        let file = try cli.write("{\"input\": \"one\"}\n{\"input\": \"two\"}\n", to: "two.jsonl")
        let submit = try trace(cli, ["submit", file, "--json"])
        #expect(syncedBeforeAnswering(submit), "submit answered with its commit only in the page cache:\n\(submit.suffix(30).joined(separator: "\n"))")
        let jobs = try cli.jsonArray(["jobs", "list", "--json"])
        let id = try #require(jobs.first?["job_id"] as? String)
        let cancel = try trace(cli, ["jobs", "cancel", id])
        #expect(syncedBeforeAnswering(cancel), "jobs cancel answered with its commit only in the page cache:\n\(cancel.suffix(30).joined(separator: "\n"))")
        let retry = try trace(cli, ["jobs", "retry", id])
        #expect(syncedBeforeAnswering(retry), "jobs retry answered with its commit only in the page cache:\n\(retry.suffix(30).joined(separator: "\n"))")
    }
}
