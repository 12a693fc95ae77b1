import Foundation

/// Runs the built `agentq` binary, as a user would from a shell.
///
/// ```swift
/// let result = try AgentQProcess.run(["submit", path, "--json"], home: home)
/// #expect(result.exitCode == 0)
/// ```
public struct AgentQProcess {
    /// What a finished command printed and returned.
    public struct Output: Sendable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The `agentq` executable next to the test bundle (SwiftPM puts both in the same bin directory),
    /// or `$AGENTQ_BIN`.
    public static var binaryURL: URL {
        if let explicit = ProcessInfo.processInfo.environment["AGENTQ_BIN"] {
            return URL(fileURLWithPath: explicit)
        }
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("agentq")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("agentq")
    }

    /// Starts `agentq ARGUMENTS` with `AGENTQ_HOME=home` and returns without waiting.
    public static func start(
        _ arguments: [String], home: String, stdin: String? = nil, environment: [String: String] = [:]
    ) throws -> RunningProcess {
        let process = Process()
        process.executableURL = binaryURL
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["AGENTQ_HOME"] = home
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        let running = RunningProcess(process: process, stdout: out, stderr: err)
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        return running
    }

    /// Runs `agentq ARGUMENTS` to the end.
    public static func run(
        _ arguments: [String], home: String, stdin: String? = nil, environment: [String: String] = [:]
    ) throws -> Output {
        try start(arguments, home: home, stdin: stdin, environment: environment).wait()
    }
}

/// An `agentq` process started by ``AgentQProcess/start(_:home:stdin:environment:)``.
public final class RunningProcess: @unchecked Sendable {
    public let process: Process
    private let stdoutData = LockedData()
    private let stderrData = LockedData()
    private let group = DispatchGroup()

    init(process: Process, stdout: Pipe, stderr: Pipe) {
        self.process = process
        for (pipe, sink) in [(stdout, stdoutData), (stderr, stderrData)] {
            group.enter()
            DispatchQueue.global().async { [group] in
                let handle = pipe.fileHandleForReading
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    sink.append(chunk)
                }
                group.leave()
            }
        }
    }

    public var pid: Int32 { process.processIdentifier }

    /// What the process printed so far on stderr.
    public var stderrSoFar: String { stderrData.string }
    public var stdoutSoFar: String { stdoutData.string }

    public func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to end and for its output to be read.
    public func wait() -> AgentQProcess.Output {
        process.waitUntilExit()
        group.wait()
        return AgentQProcess.Output(
            exitCode: process.terminationStatus, stdout: stdoutData.string, stderr: stderrData.string)
    }
}

final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func append(_ chunk: Data) {
        lock.lock()
        data.append(chunk)
        lock.unlock()
    }
    var string: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass.
/// - returns: whether it held.
public func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return try condition()
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass, sleeping without holding a
/// thread: async tests share a couple of cooperative threads, and one that blocks them starves
/// the others.
/// - returns: whether it held.
public func eventually(within seconds: Double, _ condition: () throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return true }
        try? await Task.sleep(nanoseconds: 20_000_000)
    }
    return try condition()
}
