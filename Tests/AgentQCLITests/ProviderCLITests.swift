import AgentQTesting
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

// The HTTP providers through the built binary, against Tests/Support/fake_llm_server.py:
// agent loops with tool calls, the shared rate-limit gate of a worker's threads, a 401, a
// truncated stream, spend caps, and no API key anywhere in the home or the output.

// MARK: - Agents for the fake server (ScriptedLLMServer, from AgentQTesting)

/// An agent definition pointing at a fake server, as JSON text.
func providerAgentJSON(
    name: String, family: String, baseURL: String, keyEnv: String, tools: [String] = [], extra: [String: Any] = [:]
) throws -> String {
    var object: [String: Any] = [
        "name": name, "provider": family, "model": family == "openai" ? "gpt-fake" : "claude-fake",
        "base_url": baseURL, "api_key_env": keyEnv, "tools": tools,
    ]
    for (field, value) in extra { object[field] = value }
    return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
}

// MARK: - Tests

extension MultiProcess {
    @Suite struct ProviderCLITests {
        static let keyVariable = "FAKE_KEY"
        let key = "sk-live-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + "unique"
        var environment: [String: String] { [Self.keyVariable: key] }
        let server: ScriptedLLMServer
        let cli: CLIHome
        /// Every command's stdout and stderr, for the key check.
        private let outputs = OutputLog()

        init() throws {
            server = try ScriptedLLMServer()
            cli = try CLIHome()
        }

        // MARK: Helpers

        /// Runs `agentq ARGUMENTS` with the key in the environment, keeping its output.
        /// The command runs on a thread of its own, not on one of the few cooperative threads.
        @discardableResult
        func agentq(_ arguments: [String], expectSuccess: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) async throws
            -> AgentQProcess.Output
        {
            let cli = self.cli, environment = self.environment
            let output = try await offCooperativePool { try cli.run(arguments, environment: environment) }
            outputs.append(output)
            if expectSuccess {
                #expect(
                    output.exitCode == 0, "agentq \(arguments.joined(separator: " ")) exited \(output.exitCode): \(output.stderr)",
                    sourceLocation: sourceLocation)
            }
            return output
        }

        func addAgent(
            _ name: String, family: String, tools: [String] = [], extra: [String: Any] = [:],
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let json = try providerAgentJSON(
                name: name, family: family, baseURL: server.baseURL(family), keyEnv: Self.keyVariable, tools: tools, extra: extra)
            let file = try cli.write(json, to: "agent-\(name).json")
            try await agentq(["agents", "add", file], sourceLocation: sourceLocation)
        }

        /// `submit FILE --json ARGUMENTS` → the batch ID.
        func submit(_ file: String, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
            let output = try await agentq(["submit", file, "--json"] + arguments, sourceLocation: sourceLocation)
            let line = output.stdout.split(separator: "\n").first.map(String.init) ?? ""
            let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(report?["batch_id"] as? String, "no batch_id in: \(output.stdout)", sourceLocation: sourceLocation)
        }

        /// The results of a batch's jobs, in input order.
        func results(batch: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
            try cli.jobIDs(batch: batch, sourceLocation: sourceLocation).map { try cli.result(jobID: $0, sourceLocation: sourceLocation) }
        }

        /// The key (or a long piece of it) appears in no file under the home and no command output.
        func expectNoKeyAnywhere(sourceLocation: SourceLocation = #_sourceLocation) throws {
            let needles = [key, String(key.suffix(20))].map { Data($0.utf8) }
            let root = URL(fileURLWithPath: cli.home)
            var checked = 0
            let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
            var databaseFiles: [String] = []
            while let url = enumerator?.nextObject() as? URL {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                let data = try Data(contentsOf: url)
                checked += 1
                if url.lastPathComponent.hasPrefix("agentq.db") { databaseFiles.append(url.lastPathComponent) }
                for needle in needles {
                    #expect(data.range(of: needle) == nil, "the API key is in \(url.path)", sourceLocation: sourceLocation)
                }
            }
            #expect(databaseFiles.contains("agentq.db"), "no database among the files checked", sourceLocation: sourceLocation)
            #expect(checked >= 1, "only \(checked) files under the home", sourceLocation: sourceLocation)
            let printed = outputs.all
            #expect(!printed.isEmpty, sourceLocation: sourceLocation)
            for output in printed {
                #expect(!output.stdout.contains(key) && !output.stderr.contains(key), "the API key was printed", sourceLocation: sourceLocation)
                #expect(!output.stdout.contains(String(key.suffix(20))) && !output.stderr.contains(String(key.suffix(20))),
                        "part of the API key was printed", sourceLocation: sourceLocation)
            }
        }

        static func usage(_ object: [String: Any]) -> [String: Any] { object["usage"] as? [String: Any] ?? [:] }

        // MARK: Agent loops

        @Test("OpenAI and Anthropic agents run tool-calling bulk files to completion", arguments: ["openai", "anthropic"])
        func toolCallingBatches(family: String) async throws {
            defer { cli.remove() }
            try await addAgent("loop", family: family, tools: ["write_file", "read_file"])
            var lines: [[String: Any]] = []
            for index in 1...3 {
                let arguments = #"{"path":"out\#(index).txt","content":"content number \#(index)"}"#
                lines.append(["custom_id": "c\(index)", "agent": "loop", "input": "please write it\n/call write_file \(arguments)"])
            }
            let file = try cli.write(try jsonLines(lines), to: "tools.jsonl")

            // One batch with submit --wait, one with submit then worker --drain.
            let waited = try await submit(file, ["--wait"])
            let drained = try await submit(file)
            try await agentq(["worker", "--drain"])

            for batch in [waited, drained] {
                let results = try results(batch: batch)
                try #require(results.count == 3)
                for (offset, result) in results.enumerated() {
                    let index = offset + 1
                    #expect(result["status"] as? String == "succeeded", "\(batch) #\(index): \(result)")
                    #expect(result["custom_id"] as? String == "c\(index)")
                    #expect(result["response"] as? String == "fake: tool said wrote 16 bytes to out\(index).txt", "\(result)")
                    #expect(result["steps"] as? Int == 2)
                    #expect(result["attempts"] as? Int == 1)
                    let calls = result["tool_calls"] as? [[String: Any]] ?? []
                    try #require(calls.count == 1, "tool_calls: \(calls)")
                    #expect(calls[0]["name"] as? String == "write_file")
                    let arguments = (calls[0]["arguments"] as? String).flatMap {
                        try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                    }
                    #expect(arguments?["path"] as? String == "out\(index).txt", "\(calls[0])")
                    #expect(arguments?["content"] as? String == "content number \(index)", "\(calls[0])")
                    #expect((calls[0]["result"] as? String)?.contains("wrote 16 bytes") == true, "\(calls[0])")
                    let usage = Self.usage(result)
                    #expect((usage["input_tokens"] as? Int ?? 0) > 0, "usage: \(usage)")
                    #expect((usage["output_tokens"] as? Int ?? 0) > 0, "usage: \(usage)")
                }
                let status = try cli.batchStatus(batch)
                let usage = try #require(status["usage"] as? [String: Any], "batch status: \(status)")
                let summed = results.reduce(0) { $0 + (Self.usage($1)["input_tokens"] as? Int ?? 0) }
                #expect(usage["input_tokens"] as? Int == summed, "batch usage \(usage), results sum \(summed)")
                #expect((usage["output_tokens"] as? Int ?? 0) > 0, "batch usage \(usage)")
            }

            // Two model calls per job; the second carries the tool result back.
            let log = try server.log()
            #expect(log.count == 12, "requests: \(log.count)")
            #expect(log.allSatisfy { $0["family"] as? String == family })
            let withResults = log.filter { entry in
                let messages = (entry["body"] as? [String: Any])?["messages"] as? [[String: Any]] ?? []
                if family == "openai" {
                    return messages.contains { $0["role"] as? String == "tool" && ($0["tool_call_id"] as? String)?.isEmpty == false }
                }
                return messages.contains { message in
                    (message["content"] as? [[String: Any]] ?? []).contains {
                        $0["type"] as? String == "tool_result" && ($0["tool_use_id"] as? String)?.isEmpty == false
                    }
                }
            }
            #expect(withResults.count == 6, "requests carrying a tool result: \(withResults.count)")
            try expectNoKeyAnywhere()
        }

        // MARK: Rate limits

        @Test("a 429 closes the endpoint for every worker thread until its retry-after passes")
        func rateLimitGate() async throws {
            defer { cli.remove() }
            try await addAgent("limited", family: "openai")
            try server.script("openai", [["kind": "status", "status": 429, "headers": ["retry-after": "2"], "repeat": true]])
            let lines = (1...6).map { ["input": "job \($0)", "agent": "limited"] as [String: Any] }
            _ = try await submit(try cli.write(try jsonLines(lines), to: "six.jsonl"))

            let worker = try AgentQProcess.start(
                ["worker", "--drain", "--concurrency", "4", "--grace", "0"], home: cli.home, environment: environment)
            defer { stopIfRunning(worker) }
            // About 5 s of it: until 4.6 s after the first request, time for three bursts 2 s apart.
            var firstAt: Double?
            let startDeadline = Date().addingTimeInterval(15)
            while firstAt == nil && Date() < startDeadline {
                firstAt = try server.log().first?["at"] as? Double
                if firstAt == nil { try await Task.sleep(for: .milliseconds(50)) }
            }
            let until = (firstAt ?? Date().timeIntervalSince1970) + 4.6
            try await Task.sleep(for: .milliseconds(max(0, Int((until - Date().timeIntervalSince1970) * 1000))))
            worker.signal(SIGTERM)
            let deadline = Date().addingTimeInterval(10)
            while worker.process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            #expect(!worker.process.isRunning, "the worker did not stop within 10 s of SIGTERM")
            stopIfRunning(worker)
            outputs.append(try await offCooperativePool { worker.wait() })

            let log = try server.log()
            let times = log.compactMap { $0["at"] as? Double }
            try #require(times.count == log.count)
            #expect(log.allSatisfy { $0["step"] as? String == "status" }, "every request got the scripted 429")
            let first = try #require(times.first, "no request reached the server")
            let description = times.map { String(format: "%.3f", $0 - first) }.joined(separator: ", ")

            // Requests that passed the gate before a 429 arrived are in flight and may land just
            // after it (later still on a loaded machine: 0.116 s was seen); after those, nothing for 2 s.
            let inFlight = 0.3
            let early = times.filter { $0 > first + inFlight && $0 < first + 2.0 }
            #expect(early.isEmpty, "requests within 2 s of the first 429: \(description)")
            #expect(times.filter { $0 <= first + inFlight }.count <= 4, "more requests than workers in the first burst: \(description)")

            // Every later request waited 2 s after the latest 429 it could have seen.
            for time in times where time > first + inFlight {
                let seen = times.filter { $0 < time - inFlight }.max()
                if let seen {
                    #expect(time - seen >= 2.0, "a request \(time - first) s in came \(time - seen) s after a 429: \(description)")
                }
            }
            // The pauses were waited out, not given up: the workers came back after each one.
            #expect(times.contains { $0 >= first + 2.0 }, "no request after the first pause: \(description)")
            #expect(times.contains { $0 >= first + 4.0 }, "no request after the second pause: \(description)")
            try expectNoKeyAnywhere()
        }

        // MARK: Failures

        @Test("a 401 fails every job at once, naming the variable")
        func unauthorized() async throws {
            defer { cli.remove() }
            try await addAgent("locked", family: "openai")
            try server.script("openai", [[
                "kind": "status", "status": 401, "repeat": true,
                "message": "Incorrect API key provided: \(key). You can find your API key at https://example.com.",
            ]])
            let lines = (1...3).map { ["input": "job \($0)", "agent": "locked"] as [String: Any] }
            let batch = try await submit(try cli.write(try jsonLines(lines), to: "three.jsonl"))
            let started = Date()
            try await agentq(["worker", "--drain"], expectSuccess: false)
            let elapsed = Date().timeIntervalSince(started)
            let results = try results(batch: batch)
            try #require(results.count == 3)
            for result in results {
                #expect(result["status"] as? String == "failed", "\(result)")
                #expect(result["attempts"] as? Int == 1, "\(result)")
                #expect(errorType(result) == "authentication_error", "\(result)")
                let message = (result["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(Self.keyVariable), "message: \(message)")
                #expect(result["response"] is NSNull, "\(result)")
            }
            for id in try cli.jobIDs(batch: batch) {
                let job = try cli.job(id)
                #expect(job["attempts"] as? Int == 1)
                #expect(errorType(job) == "authentication_error")
            }
            #expect(try server.log().count == 3)
            #expect(elapsed < 10, "the drain took \(elapsed) s")
            try expectNoKeyAnywhere()
        }

        @Test("a stream cut off on every call is never a success")
        func truncatedStream() async throws {
            defer { cli.remove() }
            try await addAgent("cutoff", family: "openai", extra: ["stream": true])
            let marker = "PARTIALMARKER" + UUID().uuidString.prefix(8)
            try server.script("openai", [["kind": "truncate", "text": "\(marker) never finished", "repeat": true]])
            let batch = try await submit(
                try cli.write(try jsonLines([["input": "tell me", "agent": "cutoff"]]), to: "one.jsonl"), ["--max-attempts", "1"])
            try await agentq(["worker", "--drain", "--retry-delay", "0"], expectSuccess: false)
            let results = try results(batch: batch)
            try #require(results.count == 1)
            let result = results[0]
            #expect(result["status"] as? String == "failed", "\(result)")
            #expect(errorType(result) == "stream_truncated", "\(result)")
            #expect(result["response"] is NSNull, "response: \(String(describing: result["response"]))")
            #expect(result["attempts"] as? Int == 1)
            #expect(try server.log().count == 4, "one job attempt makes 4 tries of the call")
            // The partial text was discarded: it is nowhere in the home.
            let enumerator = FileManager.default.enumerator(at: URL(fileURLWithPath: cli.home), includingPropertiesForKeys: nil)
            while let url = enumerator?.nextObject() as? URL {
                guard let data = try? Data(contentsOf: url) else { continue }
                #expect(data.range(of: Data(marker.utf8)) == nil, "the partial answer was stored in \(url.path)")
            }
            try expectNoKeyAnywhere()
        }

        // MARK: Spend caps

        @Test("a job over its agent's max_cost_usd fails with budget_exceeded")
        func jobCostCap() async throws {
            defer { cli.remove() }
            try await addAgent("pricey", family: "openai", extra: ["input_cost_per_million": 1_000_000, "max_cost_usd": 0.5])
            let batch = try await submit(try cli.write(try jsonLines([["input": "three words here", "agent": "pricey"]]), to: "one.jsonl"))
            try await agentq(["worker", "--drain"], expectSuccess: false)
            let results = try results(batch: batch)
            try #require(results.count == 1)
            #expect(results[0]["status"] as? String == "failed", "\(results[0])")
            #expect(errorType(results[0]) == "budget_exceeded", "\(results[0])")
            #expect(try server.log().count == 1)
            try expectNoKeyAnywhere()
        }

        @Test("a batch cap: once reached, the batch's other jobs fail without calling the model")
        func batchCostCap() async throws {
            defer { cli.remove() }
            // Six input words at $0.10 each: $0.60 per job; the cap of $1.50 is passed by the third.
            try await addAgent("metered", family: "openai", extra: ["input_cost_per_million": 100_000])
            let lines = (1...5).map { ["custom_id": "m\($0)", "input": "one two three four five six", "agent": "metered"] as [String: Any] }
            let batch = try await submit(try cli.write(try jsonLines(lines), to: "five.jsonl"), ["--max-cost-usd", "1.5"])
            try await agentq(["worker", "--concurrency", "1", "--drain"], expectSuccess: false)
            let results = try results(batch: batch)
            try #require(results.count == 5)
            let statuses = results.map { $0["status"] as? String ?? "?" }
            let requests = try server.log().count
            #expect(requests < 5, "requests: \(requests)")
            #expect(statuses == ["succeeded", "succeeded", "succeeded", "failed", "failed"], "statuses: \(statuses)")
            #expect(statuses.filter { $0 == "succeeded" }.count == requests, "statuses \(statuses), requests \(requests)")
            for result in results where result["status"] as? String == "failed" {
                #expect(errorType(result) == "budget_exceeded", "\(result)")
                #expect(result["steps"] as? Int == 0, "\(result)")
            }
            for result in results where result["status"] as? String == "succeeded" {
                #expect(result["response"] as? String == "fake: one two three four five six")
                let cost = Self.usage(result)["cost_usd"] as? Double ?? 0
                #expect(abs(cost - 0.6) < 1e-6, "cost \(cost)")
            }
            let usage = try #require(try cli.batchStatus(batch)["usage"] as? [String: Any])
            let cost = usage["cost_usd"] as? Double ?? 0
            #expect(abs(cost - 1.8) < 1e-6, "batch cost \(cost)")
            try expectNoKeyAnywhere()
        }
    }
}

/// Runs blocking work on a thread of its own and awaits it, so the cooperative thread pool
/// (as wide as the machine has cores) stays free for the rest of the test run.
func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// Outputs of the commands a test ran.
final class OutputLog: @unchecked Sendable {
    private let lock = NSLock()
    private var outputs: [AgentQProcess.Output] = []
    func append(_ output: AgentQProcess.Output) {
        lock.lock()
        outputs.append(output)
        lock.unlock()
    }
    var all: [AgentQProcess.Output] {
        lock.lock()
        defer { lock.unlock() }
        return outputs
    }
}
