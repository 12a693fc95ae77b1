import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// `--concurrency N` means N turns in flight, each waiting on its model without a thread of its own.
    @Suite struct InFlightTests {
        /// The most intervals [started_at, finished_at] that overlap at one instant.
        static func mostAtOnce(_ jobs: [[String: Any]]) throws -> Int {
            var events: [(Date, Int)] = []
            for job in jobs {
                let started = try #require(WakeUpTests.date(job["started_at"]), "no started_at in \(job)")
                let finished = try #require(WakeUpTests.date(job["finished_at"]), "no finished_at in \(job)")
                events.append((started, 1))
                events.append((finished, -1))
            }
            // At the same instant an end comes before a start: touching intervals do not overlap.
            events.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            var open = 0, most = 0
            for (_, change) in events {
                open += change
                most = max(most, open)
            }
            return most
        }

        /// The worker's threads, from /proc.
        static func threads(of pid: Int32) -> Int? {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") })
            else { return nil }
            return Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
        }

        /// Runs `worker --drain` and samples its threads until it exits.
        static func drain(_ cli: CLIHome, _ arguments: [String]) throws -> (output: AgentQProcess.Output, mostThreads: Int) {
            let worker = try cli.start(["worker", "--drain"] + arguments)
            var mostThreads = 0
            while worker.process.isRunning {
                mostThreads = max(mostThreads, threads(of: worker.pid) ?? 0)
                usleep(20_000)
            }
            return (worker.wait(), mostThreads)
        }

        @Test func sixHundredEchoTurnsRunAtOnceOnAFewThreads() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "second", "provider": "echo", "model": "echo", "options": {"latency_ms": 3000}}"#)
            let lines = (0..<600).map { #"{"input": "job \#($0)"}"# }.joined(separator: "\n") + "\n"
            let (batchID, count) = try cli.submit(try cli.write(lines, to: "jobs.jsonl"), ["--agent", "second"])
            #expect(count == 600)

            let (output, mostThreads) = try Self.drain(cli, ["--concurrency", "600", "--threads", "4"])
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            let jobs = try cli.jobs(batch: batchID)
            #expect(jobs.allSatisfy { $0["status"] as? String == "succeeded" })
            #expect(try cli.resultFiles().count == 600)
            // Every turn was waiting on its model at the same time as every other.
            #expect(try Self.mostAtOnce(jobs) == 600)
            // Not a thread per turn: 4 worker threads, the coordinator, Dispatch's and the event loop's.
            #expect(mostThreads < 100, "the worker had \(mostThreads) threads for 600 turns in flight")
        }

        @Test func threeHundredHTTPCallsAreInFlightAtOnce() throws {
            let server = try StubModelServer(delayMilliseconds: 2000)
            defer { try? server.stop() }
            let cli = try CLIHome()
            defer { cli.remove() }
            try cli.addAgent(#"{"name": "stub", "provider": "openai", "model": "stub", "base_url": "\#(server.baseURL)"}"#)
            let lines = (0..<300).map { #"{"input": "call \#($0)"}"# }.joined(separator: "\n") + "\n"
            let (batchID, _) = try cli.submit(try cli.write(lines, to: "calls.jsonl"), ["--agent", "stub"])

            let (output, mostThreads) = try Self.drain(cli, ["--concurrency", "300"])
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            let jobs = try cli.jobs(batch: batchID)
            #expect(jobs.filter { $0["status"] as? String == "succeeded" }.count == 300)
            let result = try cli.result(jobID: try #require(jobs.first?["job_id"] as? String))
            #expect(result["response"] as? String == "echo: call 0")
            // The server held every call at once: no pool of 8 connections, no thread per call.
            #expect(server.mostInFlight == 300)
            #expect(server.answered == 300)
            #expect(mostThreads < 100, "the worker had \(mostThreads) threads for 300 calls in flight")
        }

        @Test func concurrencyAboveTheLimitIsRefusedByName() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let output = try cli.run(["worker", "--drain", "--concurrency", "16385"])
            #expect(output.exitCode == 64)
            #expect(output.stderr.contains("--concurrency"))
            let threads = try cli.run(["worker", "--drain", "--threads", "0"])
            #expect(threads.exitCode == 64)
            #expect(threads.stderr.contains("--threads"))
        }
    }
}
