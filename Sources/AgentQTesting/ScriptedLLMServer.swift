import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `python3 Tests/Support/fake_llm_server.py --port 0`: the scriptable fake provider the tests
/// drive (both wire formats, and every way a provider misbehaves), with its control API.
/// It exits with this process (its stdin is a pipe this process holds), or when released.
public final class ScriptedLLMServer: @unchecked Sendable {
    public let process = Process()
    public let port: Int
    private let input = Pipe()
    private let output = Pipe()

    public init() throws {
        // Sources/AgentQTesting/ → the package root → Tests/Support/.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Tests/Support/fake_llm_server.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, "--port", "0", "--exit-on-stdin-eof"]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        while !buffer.contains(UInt8(ascii: "\n")) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let line = String(decoding: buffer, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard line.hasPrefix("PORT "), let port = Int(line.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw ServerError(message: "the fake server printed '\(line)' instead of PORT <n>")
        }
        self.port = port
    }

    /// Closing stdin ends it; SIGKILL too, since a child started from a test thread can
    /// inherit a signal mask that blocks SIGTERM.
    deinit {
        try? input.fileHandleForWriting.close()
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public struct ServerError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    public var openAIBaseURL: String { "http://127.0.0.1:\(port)/v1" }
    public var anthropicBaseURL: String { "http://127.0.0.1:\(port)" }

    public func baseURL(_ family: String) -> String { family == "anthropic" ? anthropicBaseURL : openAIBaseURL }

    public func reset() throws {
        _ = try control("POST", "/_control/reset", body: [String: Any]())
    }

    /// Appends steps to a family's FIFO.
    public func script(_ family: String, _ steps: [[String: Any]]) throws {
        _ = try control("POST", "/_control/script", body: ["family": family, "steps": steps])
    }

    /// Every provider request received since the last reset, in order.
    public func log() throws -> [[String: Any]] {
        let data = try control("GET", "/_control/log", body: nil)
        guard let entries = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw ServerError(message: "the log is not a JSON array: \(String(decoding: data, as: UTF8.self))")
        }
        return entries
    }

    private func control(_ method: String, _ path: String, body: Any?) throws -> Data {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 10
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let box = ControlResult()
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral)
        session.dataTask(with: request) { data, response, error in
            box.set(data: data, status: (response as? HTTPURLResponse)?.statusCode, error: error)
            done.signal()
        }.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        let (data, status, error) = box.get()
        if let error { throw ServerError(message: "\(method) \(path): \(error)") }
        guard status == 200, let data else {
            throw ServerError(message: "\(method) \(path): HTTP \(status ?? -1) \(String(decoding: data ?? Data(), as: UTF8.self))")
        }
        return data
    }
}

private final class ControlResult: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Data?, Int?, (any Error)?) = (nil, nil, nil)
    func set(data: Data?, status: Int?, error: (any Error)?) {
        lock.lock()
        value = (data, status, error)
        lock.unlock()
    }
    func get() -> (Data?, Int?, (any Error)?) {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}

