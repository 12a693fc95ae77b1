import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// `GET /metrics`: the Prometheus text format, with counters that move as the served home works.
    @Suite struct MetricsTests {
        /// Runs `agentq ARGUMENTS` on the home and requires success.
        func agentq(_ arguments: [String], home: String, environment: [String: String] = [:]) throws -> String {
            let output = try AgentQProcess.run(arguments, home: home, environment: environment)
            #expect(output.exitCode == 0, "agentq \(arguments.joined(separator: " ")): \(output.stderr)")
            return output.stdout
        }

        func scrape(_ client: APIClient) async throws -> PrometheusText {
            let response = try await client.send("GET", "/metrics")
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/plain") == true)
            return try PrometheusText(parsing: response.text)
        }

        @Test func countersMoveWithTheJobsTheServerRuns() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-metrics")
            defer { home.remove() }
            let llm = try ScriptedLLMServer()
            // One model call answered 429 first: retried within the call, then answered.
            try llm.script("openai", [["kind": "status", "status": 429, "headers": ["retry-after": "0"]]])
            let agent = try home.write(
                #"{"name": "remote", "provider": "openai", "model": "gpt-fake", "base_url": "\#(llm.openAIBaseURL)", "api_key_env": "FAKE_KEY", "stream": false, "input_cost_per_million": 1000, "output_cost_per_million": 1000}"#,
                to: "remote.json")
            _ = try agentq(["agents", "add", agent], home: home.path)
            _ = try agentq(["sessions", "create", "echo"], home: home.path)
            let environment = ["FAKE_KEY": "sk-test-metrics"]
            let server = try ServerProcess.start(home: home.path, environment: environment)
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            let before = try await scrape(client)
            #expect(before.types["agentq_job_duration_seconds"] == "histogram")
            #expect(before.types["agentq_jobs"] == "gauge")
            #expect(before.value("agentq_job_claims_total") == 0)
            #expect(before.value("agentq_sessions", ["status": "idle"]) == 1)

            let echoJobs = 5
            let lines = (0..<echoJobs).map { #"{"input": "hello number \#($0)"}"# }.joined(separator: "\n")
            _ = try agentq(["submit", try home.write(lines + "\n", to: "echo.jsonl"), "--agent", "echo"], home: home.path)
            _ = try agentq(["submit", try home.write(#"{"input": "hi remote"}"# + "\n", to: "remote.jsonl"), "--agent", "remote"], home: home.path)
            let total = echoJobs + 1

            var metrics = try await scrape(client)
            let deadline = Date().addingTimeInterval(60)
            while metrics.value("agentq_jobs", ["status": "succeeded"]) != Double(total) && Date() < deadline {
                try await Task.sleep(nanoseconds: 50_000_000)
                metrics = try await scrape(client)
            }
            // Jobs and sessions by status: the store's counts, as `agentq stats` reads them.
            let stats = try #require(
                try JSONSerialization.jsonObject(with: Data(try agentq(["stats", "--json"], home: home.path).utf8)) as? [String: Any])
            for (family, counts) in [("agentq_jobs", stats["jobs"]), ("agentq_sessions", stats["sessions"])] {
                let counts = try #require(counts as? [String: Int])
                for (status, count) in counts {
                    #expect(metrics.value(family, ["status": status]) == Double(count), "\(family){status=\"\(status)\"}")
                }
            }
            #expect(metrics.value("agentq_jobs", ["status": "succeeded"]) == Double(total))
            #expect(metrics.value("agentq_job_claims_total") ?? 0 >= Double(total))
            #expect(metrics.value("agentq_job_duration_seconds_count", ["outcome": "succeeded"]) == Double(total))
            #expect(metrics.value("agentq_job_duration_seconds_bucket", ["outcome": "succeeded", "le": "+Inf"]) == Double(total))
            #expect(metrics.value("agentq_turn_duration_seconds_count", ["outcome": "succeeded"]) == Double(total))
            #expect(metrics.value("agentq_job_retries_total") == 0)
            // The remote agent's call: two requests to the fake endpoint, one of them a 429, one retry.
            let endpoint = ["endpoint": "127.0.0.1:\(llm.port)"]
            #expect(metrics.value("agentq_provider_requests_total", endpoint) == 2)
            #expect(metrics.value("agentq_provider_rate_limited_total", endpoint) == 1)
            #expect(metrics.value("agentq_provider_retries_total", endpoint) == 1)
            #expect(metrics.value("agentq_tokens_total", ["kind": "input"]) ?? 0 > 0)
            #expect(metrics.value("agentq_tokens_total", ["kind": "output"]) ?? 0 > 0)
            #expect(metrics.value("agentq_cost_usd_total") ?? 0 > 0)
        }

        @Test func theParserRejectsWhatIsNotTheTextFormat() throws {
            let good = try PrometheusText(parsing: "# TYPE x counter\nx{a=\"1\",b=\"q\\\"t\"} 3\ny 4.5 1700000000\n")
            #expect(good.value("x", ["a": "1", "b": "q\"t"]) == 3)
            #expect(good.value("y") == 4.5)
            for bad in ["x{a=1} 3", "x 3x", "{a=\"1\"} 3", "x{a=\"1\" 3"] {
                #expect(throws: PrometheusText.ParseError.self, "\(bad)") { try PrometheusText(parsing: bad) }
            }
        }
    }
}
