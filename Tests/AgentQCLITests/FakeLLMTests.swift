import AgentQTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

// End to end against fakellm, a third-party mock of the OpenAI and Anthropic APIs (installed
// into .venv by `make test`): a session's agent loop through the built binary, the model's
// tool call run in the session's workspace and its final answer printed and stored.

/// A running `fakellm serve` with a rules file written for one test.
final class FakeLLMProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let logFile: URL

    /// fakellm from `$AGENTQ_FAKELLM`, else `<repo>/.venv/bin/fakellm`; nil when neither exists.
    static var executable: String? {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["AGENTQ_FAKELLM"], !explicit.isEmpty { candidates.append(explicit) }
        candidates.append(packageRoot().appendingPathComponent(".venv/bin/fakellm").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A port nothing listens on right now: bind port 0, read it, close.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FakeLLMError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw FakeLLMError("bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw FakeLLMError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }

    init(executable: String, config: String, directory: URL) throws {
        port = try Self.freePort()
        let configFile = directory.appendingPathComponent("fakellm.yaml")
        try Data(config.utf8).write(to: configFile)
        logFile = directory.appendingPathComponent("fakellm.log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let log = try FileHandle(forWritingTo: logFile)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--config", configFile.path]
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Waits until fakellm accepts connections on its port.
    func waitUntilListening(seconds: Double = 30) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && !Self.accepts(port: port) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        guard process.isRunning, Self.accepts(port: port) else {
            stop()
            throw FakeLLMError("fakellm did not start listening on port \(port) within \(seconds) s: \(log)")
        }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// SIGKILL: a child started from a test thread can inherit a signal mask that blocks SIGTERM.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// `GET /_fakellm/stats`, decoded.
    func stats() throws -> [String: Any] {
        let box = StatsReply()
        let done = DispatchSemaphore(value: 0)
        let session = URLSession(configuration: .ephemeral)
        session.dataTask(with: URL(string: "http://127.0.0.1:\(port)/_fakellm/stats")!) { data, _, _ in
            box.set(data)
            done.signal()
        }.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        let data = try #require(box.get(), "no answer from /_fakellm/stats")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

struct FakeLLMError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

private final class StatsReply: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data?) {
        lock.lock()
        data = value
        lock.unlock()
    }
    func get() -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}

/// In MultiProcess: it starts fakellm servers and agentq processes, so it runs one suite at a time
/// with the others whose deadlines its load could push.
extension MultiProcess {
    @Suite struct FakeLLMTests {
        @Test("a session's agent loop against fakellm: tool call, file written, final answer",
              arguments: ["openai", "anthropic"], [true, false])
        func agentLoop(family: String, stream: Bool) async throws {
            let executable = try #require(
                FakeLLMProcess.executable,
                "fakellm is not installed (looked at $AGENTQ_FAKELLM and .venv/bin/fakellm): run `make test`, which installs it into .venv")
            let cli = try CLIHome()
            defer { cli.remove() }

            let trigger = "NOTE-REQUEST-\(family)-\(stream ? "stream" : "plain")"
            let fileName = "note-\(family).txt"
            let fileContent = "hello from fakellm via \(family)"
            let finalAnswer = "FAKELLM-DONE: the note for \(family) is saved"
            let config = """
                rules:
                  - name: after_tool
                    when:
                      tool_result_contains: "wrote"
                    respond:
                      content: "\(finalAnswer)"
                  - name: write_note
                    when:
                      messages_contain: "\(trigger)"
                    respond:
                      tool_calls:
                        - name: write_file
                          arguments:
                            path: "\(fileName)"
                            content: "\(fileContent)"

                """
            let fakellm = try FakeLLMProcess(executable: executable, config: config, directory: cli.directory.url)
            defer { fakellm.stop() }
            try await fakellm.waitUntilListening()

            let baseURL = family == "openai" ? "http://127.0.0.1:\(fakellm.port)/v1" : "http://127.0.0.1:\(fakellm.port)"
            let agent = try providerAgentJSON(
                name: "fl", family: family, baseURL: baseURL, keyEnv: "FAKELLM_KEY", tools: ["write_file", "read_file"],
                extra: ["stream": stream])
            let environment = ["FAKELLM_KEY": "sk-fakellm-test"]
            let agentFile = try cli.write(agent, to: "fl.json")
            let added = try await offCooperativePool { try cli.run(["agents", "add", agentFile], environment: environment) }
            try #require(added.exitCode == 0, "agents add: \(added.stderr)")

            let input = "please \(trigger) now"
            let created = try await offCooperativePool {
                try cli.run(["sessions", "create", "fl", "--input", input], environment: environment)
            }
            #expect(created.exitCode == 0, "sessions create exited \(created.exitCode): \(created.stderr)\nfakellm: \(fakellm.log)")
            #expect(created.stdout.contains(finalAnswer), "stdout: \(created.stdout)\nstderr: \(created.stderr)")
            let pattern = try Regex("ses_[0-9a-z]+")
            let match = try #require(created.stdout.firstMatch(of: pattern), "no session ID in: \(created.stdout)")
            let sessionID = String(created.stdout[match.range])

            // The file is in the session's workspace, as the model asked.
            let got = try await offCooperativePool { try cli.run(["sessions", "get", sessionID, "--json"], environment: environment) }
            try #require(got.exitCode == 0, "sessions get: \(got.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(got.stdout.utf8)) as? [String: Any])
            let workdir = try #require(document["workdir"] as? String, "\(document)")
            let written = FileManager.default.contents(atPath: workdir + "/" + fileName)
            #expect(written.map { String(decoding: $0, as: UTF8.self) } == fileContent, "workspace file at \(workdir)/\(fileName)")

            // The transcript: the question, the tool call, its result, fakellm's final content.
            let messages = try #require(document["messages"] as? [[String: Any]], "\(document)")
            #expect(messages.map { $0["role"] as? String ?? "?" } == ["user", "assistant", "tool", "assistant"], "\(messages)")
            if messages.count == 4 {
                let calls = messages[1]["tool_calls"] as? [[String: Any]] ?? []
                #expect(calls.map { $0["name"] as? String ?? "?" } == ["write_file"], "\(messages[1])")
                let arguments = (calls.first?["arguments"] as? String).flatMap {
                    try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(arguments?["path"] as? String == fileName)
                #expect(arguments?["content"] as? String == fileContent)
                #expect(messages[2]["tool_name"] as? String == "write_file")
                #expect(messages[2]["tool_call_id"] as? String == calls.first?["id"] as? String)
                #expect((messages[2]["content"] as? String)?.hasPrefix("wrote ") == true, "\(messages[2])")
                #expect(messages[2]["is_error"] as? Bool == false)
                #expect(messages[3]["content"] as? String == finalAnswer)
            }
            #expect(document["status"] as? String == "idle")

            // fakellm saw exactly the two requests, one per rule.
            let stats = try fakellm.stats()
            let byRule = stats["by_rule"] as? [String: Int] ?? [:]
            #expect(byRule == ["write_note": 1, "after_tool": 1], "fakellm stats: \(stats)")
        }
    }
}
