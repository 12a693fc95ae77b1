import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// The retention policy runs in whichever worker gets there first, once an hour, however
    /// many workers share the home.
    @Suite struct RetentionPolicyCLITests {
        @Test func threeWorkersApplyThePolicyOnceAnHour() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let lines = (0..<20).map { "{\"input\": \"old \($0)\"}" }.joined(separator: "\n")
            _ = try cli.runOK(["submit", "-", "--agent", "echo"], stdin: lines)
            _ = try cli.runOK(["worker", "--drain"])
            _ = try cli.runOK(["config", "set", "retention.finished", "1s"])
            Thread.sleep(forTimeInterval: 1.2)   // the 20 finished jobs are now older than the policy keeps

            let workers = try (0..<3).map { _ in try cli.start(["worker", "--lease", "2"]) }
            defer { workers.forEach(stopIfRunning) }
            let pruned = try eventually(within: 20) { try cli.jsonArray(["jobs", "list", "--json"]).isEmpty }
            #expect(pruned, "the policy never ran")

            // Jobs that finish now are old enough a second later, but the hour has not passed:
            // several maintenance passes of three workers later, they are still there.
            _ = try cli.runOK(["submit", "-", "--agent", "echo"], stdin: "{\"input\": \"new\"}\n")
            let ran = try eventually(within: 20) {
                try cli.jsonArray(["jobs", "list", "--json"]).first?["status"] as? String == "succeeded"
            }
            #expect(ran)
            Thread.sleep(forTimeInterval: 3)   // maintenance passes run every 1 s with --lease 2
            #expect(try cli.jsonArray(["jobs", "list", "--json"]).count == 1, "the policy ran again within the hour")

            for worker in workers { worker.signal(SIGTERM) }
            let logs = workers.map { $0.wait().stderr }
            let runs = logs.map { $0.components(separatedBy: "retention: pruned").count - 1 }.reduce(0, +)
            #expect(runs == 1, "the policy ran \(runs) times: \(logs)")
        }
    }
}
