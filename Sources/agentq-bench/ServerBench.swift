import AgentQ
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `make bench`'s server figures: requests/s of `POST /sessions/{id}/message` on the echo
/// agent with 64 concurrent clients, and the latency the server adds over the same turn run
/// in-process with `Session.run` on the same home (p50 and p99 of both, one request at a time).
///
/// Until the session routes exist it prints a "skipped: endpoint missing" line instead.
///
/// ```swift
/// try ServerBench(binary: "/path/agentq", clients: 64, requestsPerClient: 50).run()
/// ```
struct ServerBench {
    var binary: String
    var clients = 64
    var requestsPerClient = 50
    /// Requests timed one at a time, for the latency comparison.
    var latencySamples = 200

    /// A value shared between the server's output reader, the measuring task and this thread.
    final class Box<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Value
        init(_ value: Value) { self.value = value }
        func update(_ body: (inout Value) -> Void) {
            lock.lock()
            body(&value)
            lock.unlock()
        }
        var current: Value {
            lock.lock()
            defer { lock.unlock() }
            return value
        }
    }

    struct Skipped: Error, CustomStringConvertible {
        var description: String
    }

    /// - throws: when the server cannot be started.
    func run() throws {
        let home = try freshHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let (server, port) = try startServer(home: home.root.path)
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Box<Result<String, any Error>?>(nil)
        Task {
            do {
                let text = try await measure(home: home, baseURL: "http://127.0.0.1:\(port)")
                outcome.update { $0 = .success(text) }
            } catch {
                outcome.update { $0 = .failure(error) }
            }
            done.signal()
        }
        done.wait()
        switch outcome.current {
        case .success(let text)?: print(text)
        case .failure(let error as Skipped)?: print("server: skipped: \(error)")
        case .failure(let error)?: print("server: failed: \(error)")
        case nil: break
        }
    }

    /// `agentq serve --port 0` on the home; returns once it says where it listens.
    private func startServer(home: String) throws -> (Process, Int) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0", "--concurrency", "64"]
        process.environment = ProcessInfo.processInfo.environment.merging(["AGENTQ_HOME": home]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        let stderr = Pipe()
        process.standardError = stderr
        let seen = Box("")
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { seen.update { $0 += String(decoding: data, as: UTF8.self) } }
        }
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            let text = seen.current
            if let range = text.range(of: #"listening on http://[^\s]+:(\d+)"#, options: .regularExpression),
                let port = text[range].split(separator: ":").last.flatMap({ Int($0.prefix { $0.isNumber }) })
            {
                return (process, port)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.terminate()
        throw Skipped(description: "agentq serve did not start: \(seen.current.suffix(300))")
    }

    private func measure(home: AgentQHome, baseURL: String) async throws -> String {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: clients * 2)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let text = try await measure(home: home, baseURL: baseURL, http: http)
            try? await http.shutdown()
            return text
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func measure(home: AgentQHome, baseURL: String, http: HTTPClient) async throws -> String {

        var sessions: [String] = []
        for _ in 0..<clients {
            let (status, object) = try await post(http, baseURL + "/sessions", ["agent": "echo"])
            guard status == 201, let id = object?["session_id"] as? String else {
                throw Skipped(description: "endpoint missing (POST /sessions answered \(status))")
            }
            sessions.append(id)
        }
        let (probe, _) = try await post(http, baseURL + "/sessions/\(sessions[0])/message", ["message": "warm up"])
        guard probe == 200 else { throw Skipped(description: "endpoint missing (POST /sessions/{id}/message answered \(probe))") }

        // Throughput: every client sends its requests one after another, all clients at once.
        let requests = requestsPerClient
        let start = DispatchTime.now().uptimeNanoseconds
        let concurrent = try await withThrowingTaskGroup(of: [Double].self) { group in
            for session in sessions {
                group.addTask {
                    var latencies: [Double] = []
                    for index in 0..<requests {
                        let began = DispatchTime.now().uptimeNanoseconds
                        let (status, _) = try await post(http, baseURL + "/sessions/\(session)/message", ["message": "hello \(index)"])
                        guard status == 200 else { throw Skipped(description: "POST /sessions/{id}/message answered \(status)") }
                        latencies.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await latencies in group { all += latencies }
            return all
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9

        // Latency: one request at a time over HTTP, then the same turn in-process.
        var overHTTP: [Double] = []
        for index in 0..<latencySamples {
            let began = DispatchTime.now().uptimeNanoseconds
            _ = try await post(http, baseURL + "/sessions/\(sessions[0])/message", ["message": "one \(index)"])
            overHTTP.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
        }
        let queue = try AgentQueue(home: home)
        let session = try Session(agent: "echo", queue: queue)
        var inProcess: [Double] = []
        for index in 0..<latencySamples {
            let began = DispatchTime.now().uptimeNanoseconds
            _ = try await session.run("one \(index)")
            inProcess.append(Double(DispatchTime.now().uptimeNanoseconds - began) / 1e6)
        }
        let (httpP50, httpP99) = (percentile(overHTTP, 0.5), percentile(overHTTP, 0.99))
        let (localP50, localP99) = (percentile(inProcess, 0.5), percentile(inProcess, 0.99))
        let total = concurrent.count
        return """
            server: POST /sessions/{id}/message on echo, \(clients) clients: \(total) requests in \(String(format: "%.2f", elapsed)) s = \(rate(total, elapsed)) requests/s (p50 \(format(percentile(concurrent, 0.5))) ms, p99 \(format(percentile(concurrent, 0.99))) ms)
            server latency, one request at a time (\(latencySamples)): HTTP p50 \(format(httpP50)) ms, p99 \(format(httpP99)) ms; in-process Session.run p50 \(format(localP50)) ms, p99 \(format(localP99)) ms; added by the server p50 \(format(httpP50 - localP50)) ms, p99 \(format(httpP99 - localP99)) ms
            """
    }

    private func post(_ http: HTTPClient, _ url: String, _ json: [String: Any]) async throws -> (Int, [String: Any]?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
        let response = try await http.execute(request, timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 16 << 20)
        let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
        return (Int(response.status.code), object)
    }

    private func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }

    private func format(_ milliseconds: Double) -> String { String(format: "%.2f", milliseconds) }
}
