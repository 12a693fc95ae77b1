import Foundation

/// `agentq serve` started as a user would, on a free loopback port of a temporary home.
///
/// ```swift
/// let server = try ServerProcess.start(home: home)
/// defer { server.stop() }
/// let client = APIClient(baseURL: server.baseURL)
/// ```
public final class ServerProcess: @unchecked Sendable {
    public let process: RunningProcess
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(process: RunningProcess, port: Int) {
        self.process = process
        self.port = port
    }

    /// Starts the server with `--port 0` and waits until it says where it listens.
    /// - throws: when it exits or says nothing within 30 s (its stderr is in the error).
    public static func start(
        home: String, arguments: [String] = [], environment: [String: String] = [:]
    ) throws -> ServerProcess {
        let running = try AgentQProcess.start(["serve", "--port", "0"] + arguments, home: home, environment: environment)
        var port: Int?
        let found = eventually(within: 30) {
            if let match = running.stderrSoFar.range(of: #"listening on http://[^:]+:(\d+)"#, options: .regularExpression) {
                let text = running.stderrSoFar[match]
                port = text.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }
            }
            return port != nil || !running.process.isRunning
        }
        guard found, let port else {
            running.signal(SIGKILL)
            let output = running.wait()
            throw ServerProcessError("agentq serve did not start (exit \(output.exitCode)): \(output.stderr)")
        }
        return ServerProcess(process: running, port: port)
    }

    /// SIGTERM, then waits for the exit.
    @discardableResult
    public func stop() -> AgentQProcess.Output {
        if process.process.isRunning { process.signal(SIGTERM) }
        return process.wait()
    }
}

public struct ServerProcessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
