import AgentQTesting
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// Rate limits shared by every agentq process on a home (through its database): two
// `agentq worker` processes against Tests/Support/fake_llm_server.py, each running one job
// at a time, so that whatever one process learns (a 429, a spent budget) the other obeys.

extension MultiProcess {
    @Suite struct SharedRateLimitTests {
        static let keyVariable = "FAKE_KEY"
        let environment = [Self.keyVariable: "sk-shared-" + UUID().uuidString]
        let server: ScriptedLLMServer
        let cli: CLIHome

        init() throws {
            server = try ScriptedLLMServer()
            cli = try CLIHome()
        }

        func addAgent(_ name: String, extra: [String: Any] = [:]) throws {
            let json = try providerAgentJSON(
                name: name, family: "openai", baseURL: server.openAIBaseURL, keyEnv: Self.keyVariable,
                extra: extra.merging(["stream": false]) { first, _ in first })
            try cli.addAgent(json)
        }

        func startWorkers(_ count: Int, _ arguments: [String]) throws -> [RunningProcess] {
            try (0..<count).map { _ in
                try AgentQProcess.start(["worker", "--concurrency", "1", "--prefetch", "0", "--grace", "0"] + arguments, home: cli.home, environment: environment)
            }
        }

        /// Waits for `workers` to end by themselves (SIGTERM first when `stop`), killing what is left after `seconds`.
        func finish(_ workers: [RunningProcess], stop: Bool, within seconds: Double) async throws -> [AgentQProcess.Output] {
            if stop { for worker in workers { worker.signal(SIGTERM) } }
            let deadline = Date().addingTimeInterval(seconds)
            while workers.contains(where: { $0.process.isRunning }) && Date() < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            let stragglers = workers.filter { $0.process.isRunning }.count
            #expect(stragglers == 0, "\(stragglers) worker(s) still running after \(seconds) s")
            workers.forEach(stopIfRunning)
            return try await offCooperativePool { workers.map { $0.wait() } }
        }

        @Test("a 429 seen by one worker process closes the endpoint for the other process too")
        func retryAfterClosesEveryProcess() async throws {
            defer { cli.remove() }
            try addAgent("shared")
            // The first request is held for 1 s and then refused with retry-after: 3; every other
            // request takes 0.2 s. The process holding the first request runs nothing else meanwhile
            // (one job at a time), so any other request before the 429 came from the other process.
            try server.script("openai", [
                ["kind": "status", "status": 429, "headers": ["retry-after": "3"], "delay": 1.0],
                ["kind": "stall", "seconds": 0.2, "repeat": true],
            ])
            let lines = (1...24).map { ["input": "job \($0)", "agent": "shared"] as [String: Any] }
            let batch = try cli.submit(try cli.write(try jsonLines(lines), to: "jobs.jsonl")).batchID

            let workers = try startWorkers(2, ["--drain"])
            defer { workers.forEach(stopIfRunning) }
            let outputs = try await finish(workers, stop: false, within: 40)
            for output in outputs { #expect(output.exitCode == 0, "worker: \(output.stderr)") }

            let log = try server.log()
            let first = try #require(log.first)
            #expect(first["step"] as? String == "status", "the first request got the 429: \(first)")
            let refusedAt = try #require(first["answered_at"] as? Double, "no answered_at: \(first)")
            let times = log.dropFirst().compactMap { $0["at"] as? Double }
            let description = times.map { String(format: "%+.3f", $0 - refusedAt) }.joined(separator: ", ")
            try #require(
                times.contains { $0 < refusedAt },
                "the other process sent nothing while the first request was held, so it was not running: \(description)")

            // A request the other process had already sent when the 429 went out may land just
            // after it; after those, nothing until retry-after has passed.
            let inFlight = 0.3
            let early = times.filter { $0 > refusedAt + inFlight && $0 < refusedAt + 3.0 }
            #expect(early.isEmpty, "requests within the 3 s after the 429 (s from the 429): \(description)")
            #expect(times.contains { $0 >= refusedAt + 3.0 }, "nothing after the pause: \(description)")

            let results = try cli.jobIDs(batch: batch).map { try cli.result(jobID: $0) }
            #expect(results.count == 24)
            #expect(results.allSatisfy { $0["status"] as? String == "succeeded" }, "\(results.map { $0["status"] ?? "?" })")
        }

        @Test("an agent's rpm is one budget for every worker process on the home")
        func requestsPerMinuteAcrossProcesses() async throws {
            defer { cli.remove() }
            try addAgent("paced", extra: ["rpm": 3])
            let lines = (1...12).map { ["input": "job \($0)", "agent": "paced"] as [String: Any] }
            _ = try cli.submit(try cli.write(try jsonLines(lines), to: "jobs.jsonl"))

            let workers = try startWorkers(2, [])
            defer { workers.forEach(stopIfRunning) }
            // Until three requests were made and both processes hold a job (each waits for the budget).
            let cli = self.cli, server = self.server
            let settled = try await offCooperativePool {
                try eventually(within: 20) {
                    let running = try cli.jsonArray(["jobs", "list", "--status", "running", "--json"]).count
                    return try server.log().count >= 3 && running == 2
                }
            }
            let seen = try server.log().count
            #expect(settled, "never saw 3 requests with both workers holding a job: \(seen) requests")
            // Give a process that does not know the other's spend the time to spend its own
            // (one call takes milliseconds here).
            try await Task.sleep(for: .milliseconds(1500))
            let count = try server.log().count
            _ = try await finish(workers, stop: true, within: 15)
            #expect(count == 3, "requests in the first minute with rpm 3 over two processes: \(count)")
        }
    }
}
