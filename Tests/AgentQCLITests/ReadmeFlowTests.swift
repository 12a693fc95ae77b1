import AgentQTesting
import Foundation
import Testing

/// The flow the README and `make run` show: submit the example file, drain it, read the results.
@Suite struct ReadmeFlowTests {
    @Test func submitHelloThenDrainWritesOneSucceededResultPerJob() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let hello = packageRoot().appendingPathComponent("jobs/examples/hello.jsonl").path
        let text = try String(contentsOfFile: hello, encoding: .utf8)
        let lines = try parseJSONLines(text)
        try #require(lines.count == 6)

        let submit = try cli.run(["submit", hello, "--agent", "echo"])
        #expect(submit.exitCode == 0, "stderr: \(submit.stderr)")
        #expect(submit.stdout.contains("submitted 6 job(s) as batch bat_"))

        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

        let files = try cli.resultFiles()
        #expect(files.count == 6)

        // Which input each custom_id carried: plain lines give "input", OpenAI lines the last user message.
        let expectedInputs: [String: String] = [
            "greeting-1": "Hello, agentq!",
            "greeting-2": "What is a durable queue?",
            "greeting-3": "Summarise: jobs go in, results come out.",
            "chat-1": "First turn of a session",
            "chat-2": "Second turn of the same session, run after the first",
            "req-1": "An OpenAI Batch API line works too",
        ]
        var seen: Set<String> = []
        for file in files {
            let jobID = String(file.dropLast(".json".count))
            let result = try cli.result(jobID: jobID)
            #expect(result["job_id"] as? String == jobID)
            #expect(result["status"] as? String == "succeeded")
            #expect(result["agent"] as? String == "echo")
            #expect(result["error"] is NSNull)
            let customID = try #require(result["custom_id"] as? String)
            let input = try #require(expectedInputs[customID], "unexpected custom_id \(customID)")
            #expect(result["response"] as? String == "echo: \(input)")
            #expect(result["attempts"] as? Int == 1)
            seen.insert(customID)
        }
        #expect(seen == Set(expectedInputs.keys))
    }
}
