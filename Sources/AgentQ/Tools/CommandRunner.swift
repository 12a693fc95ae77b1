import Foundation
import JobQueue
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one program to the end with a time limit, collecting its stdout and stderr.
///
/// stdout and stderr share one pipe, so the output is interleaved as produced and a single
/// reader drains it (no pipe can fill up while the other is waited on). The child leads its own
/// process group (Foundation's `Process` makes it one), so a timeout or a cancel kills the
/// command and everything it started with one `kill(-pid, SIGKILL)`.
///
/// ```swift
/// let result = try CommandRunner.run(
///     executable: "/bin/bash", arguments: ["-c", "ls"], directory: workspace,
///     timeout: 120, outputCap: 64 * 1024, token: token)
/// ```
enum CommandRunner {
    /// How a command ended.
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
    }

    /// What a finished command printed and how it ended.
    struct Result {
        /// The first `outputCap` bytes of the output.
        var output: Data
        /// Every byte the command wrote, kept or not.
        var totalBytes: Int
        var ending: Ending
    }

    /// How long after the main process ended its children may still hold the pipe (flushing
    /// their last output) before the process group is killed.
    static let stragglerDelay: TimeInterval = 0.2

    /// How long to keep draining after the process group was killed before giving up on a
    /// process that left the group (`setsid`) but holds the pipe open.
    static let drainGrace: TimeInterval = 2

    /// Whether `/usr/bin/env --default-signal=PIPE` works here (asked once).
    static let envResetsSignals: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["--default-signal=PIPE", "true"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// - throws: `JobCancelled` when `token` fired (after the process is gone); ``ToolProblem`` when it cannot start.
    static func run(
        executable: String, arguments: [String], directory: URL, environment: [String: String]? = nil,
        timeout: TimeInterval, outputCap: Int, token: CancellationToken
    ) throws -> Result {
        try token.checkCancelled()
        let process = Process()
        // SwiftNIO (the HTTP providers, PostgreSQL, the server) ignores SIGPIPE in this whole
        // process, and an ignored signal is inherited: `yes | head` would then print "Broken
        // pipe" and run on. `env` puts the default back before the command (or bwrap) starts,
        // where it can (GNU coreutils 8.31 and later).
        if Self.envResetsSignals {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["--default-signal=PIPE", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        process.currentDirectoryURL = directory
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        // A command that reads stdin must see end of file, not hang on the worker's terminal.
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        do {
            try process.run()
        } catch {
            throw ToolProblem("cannot start \(executable): \(WorkspaceFileIO.reason(error))")
        }
        let killer = ProcessGroupKiller(groupID: process.processIdentifier)
        let callbackKey = token.onCancel { _ in killer.killGroup() }
        defer {
            token.removeCallback(callbackKey)
            killer.disarm()
        }

        let pid = process.processIdentifier
        let reader = pipe.fileHandleForReading
        let descriptor = reader.fileDescriptor
        defer { try? reader.close() }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var output = Data()
        var totalBytes = 0
        var timedOut = false
        var exit: Ending?
        var exitedAt: Date?
        var giveUpAt: Date?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 50) > 0 {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count == 0 { break }
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    break
                }
                totalBytes += count
                // Keep draining past the cap so the command never blocks on a full pipe.
                if output.count < outputCap { output.append(contentsOf: buffer[0..<min(count, outputCap - output.count)]) }
            }
            let now = Date()
            if token.isCancelled { killer.killGroup() }
            if !timedOut, now >= deadline {
                timedOut = true
                killer.killGroup()
            }
            if exit == nil, let ending = exitStatus(of: pid, process) {
                exit = ending
                exitedAt = now
            }
            // The main process ended a while ago but the pipe is still open: background children
            // hold it. They end with the command, as they would in the sandbox's PID namespace.
            if let exitedAt, now >= exitedAt.addingTimeInterval(stragglerDelay) { killer.killGroup() }
            if giveUpAt == nil, killer.didKill { giveUpAt = now.addingTimeInterval(drainGrace) }
            if let giveUpAt, now >= giveUpAt { break }
        }
        while exit == nil {
            exit = exitStatus(of: pid, process)
            if exit == nil { usleep(2_000) }
        }
        if token.isCancelled { throw JobCancelled() }
        return Result(output: output, totalBytes: totalBytes, ending: timedOut ? .timedOut : exit ?? .exited(-1))
    }

    /// How the process `pid` ended, or nil while it runs.
    ///
    /// `Process.isRunning` is not enough: Foundation learns of the exit only when every
    /// descendant has closed a descriptor the child inherited, so a background child would keep
    /// the command "running". `waitid` with `WNOWAIT` sees the exit at once and leaves the child
    /// for Foundation to reap; the unreaped zombie also keeps the process group id from being
    /// reused while stragglers are killed.
    private static func exitStatus(of pid: pid_t, _ process: Process) -> Ending? {
        var info = siginfo_t()
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        if result != 0 {
            // Already reaped by Foundation, which then has the status.
            guard errno == ECHILD else { return nil }
            while process.isRunning { usleep(1_000) }
            return process.terminationReason == .uncaughtSignal
                ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        }
        #if os(Linux)
        let childPid = info._sifields._sigchld.si_pid
        let status = info._sifields._sigchld.si_status
        #else
        let childPid = info.si_pid
        let status = info.si_status
        #endif
        guard childPid == pid else { return nil }   // WNOHANG: nothing happened yet
        return info.si_code == CLD_EXITED ? .exited(status) : .signalled(status)
    }
}
