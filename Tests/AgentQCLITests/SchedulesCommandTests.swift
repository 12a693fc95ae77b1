import AgentQTesting
import Foundation
import Testing

@Suite("agentq schedules")
struct SchedulesCommandTests {
    @Test("bad specs, names and options are usage errors (exit 64) naming the field")
    func usageErrors() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let cases: [([String], String)] = [
            (["--cron", "61 * * * *", "--input", "hi"], "--cron \"61 * * * *\": minute 61 is out of range 0-59"),
            (["--cron", "0 9 * * funday", "--input", "hi"], "day-of-week \"funday\" is not a number or a name"),
            (["--cron", "0 0 30 2 *", "--input", "hi"], "day-of-month 30 never occurs in month 2"),
            (["--every", "0s", "--input", "hi"], "--every \"0s\""),
            (["--every", "1m", "--cron", "* * * * *", "--input", "hi"], "--cron and --every cannot be used together"),
            (["--input", "hi"], "give one of --cron EXPR or --every DURATION"),
            (["--every", "1m"], "give one of --input TEXT or --file FILE"),
            (["--every", "1m", "--input", "hi", "--timezone", "Mars/Base"], "--timezone \"Mars/Base\": unknown time zone"),
            (["--every", "1m", "--input", "hi", "--overlap", "sometimes"], "--overlap must be skip or allow"),
            (["--every", "1m", "--input", "hi", "--session", "../x"], "invalid session name \"../x\""),
            (["--every", "1m", "--input", "hi", "--max-attempts", "0"], "--max-attempts must be at least 1"),
        ]
        for (arguments, message) in cases {
            let output = try cli.run(["schedules", "add", "s"] + arguments)
            #expect(output.exitCode == 64, "\(arguments): exit \(output.exitCode), stderr \(output.stderr)")
            #expect(output.stderr.contains(message), "\(arguments): stderr \(output.stderr)")
        }
        let hostile = try cli.run(["schedules", "add", "../x", "--every", "1m", "--input", "hi"])
        #expect(hostile.exitCode == 64)
        #expect(hostile.stderr.contains("invalid schedule name \"../x\""))
        #expect(try cli.jsonArray(["schedules", "list", "--json"]).isEmpty)
        let missing = try cli.run(["schedules", "pause", "nothing"])
        #expect(missing.exitCode == 1)
        #expect(missing.stderr.contains("no schedule named \"nothing\""))
    }

    @Test("--file is checked like submit (FILE:LINE, nothing stored) and stored as it was when added")
    func fileIsCheckedAndStored() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let bad = try cli.write("{\"input\":\"one\"}\n{\"input\":\n{\"input\":\"three\",\"agent\":\"nobody\"}\n", to: "bad.jsonl")
        let rejected = try cli.run(["schedules", "add", "nightly", "--cron", "@daily", "--file", bad])
        #expect(rejected.exitCode == 1)
        #expect(rejected.stderr.contains("\(bad):2: "))
        #expect(rejected.stderr.contains("\(bad):3: unknown agent 'nobody'"))
        #expect(rejected.stderr.contains("nothing was stored"))
        #expect(try cli.jsonArray(["schedules", "list", "--json"]).isEmpty)

        let file = try cli.write(
            "{\"custom_id\":\"one\",\"input\":\"one\"}\n{\"custom_id\":\"two\",\"input\":\"two\"}\n", to: "good.jsonl")
        let added = try cli.jsonObject([
            "schedules", "add", "nightly", "--cron", "30 2 * * *", "--timezone", "Europe/Berlin", "--file", file, "--json",
        ])
        #expect(added["timezone"] as? String == "Europe/Berlin")
        #expect(added["kind"] as? String == "cron")
        let again = try cli.run(["schedules", "add", "nightly", "--every", "1h", "--input", "x"])
        #expect(again.exitCode == 1)
        #expect(again.stderr.contains("--replace"))

        // A later edit of the file does not change what the schedule submits.
        try cli.write("{\"custom_id\":\"changed\",\"input\":\"changed\"}\n", to: "good.jsonl")
        let fired = try cli.runOK(["schedules", "run", "nightly"])
        let batchID = try #require(fired.split(whereSeparator: \.isWhitespace).last.map(String.init))
        let jobs = try cli.jsonArray(["jobs", "list", "--batch", batchID, "--json"])
        #expect(jobs.compactMap { $0["custom_id"] as? String } == ["one", "two"])
        let shown = try cli.jsonObject(["schedules", "show", "nightly", "--json"])
        #expect(shown["last_batch_id"] as? String == batchID)
        #expect((shown["runs"] as? [[String: Any]])?.first?["outcome"] as? String == "manual")

        _ = try cli.runOK(["schedules", "pause", "nightly"])
        #expect(try cli.jsonArray(["schedules", "list", "--json"]).first?["paused"] as? Bool == true)
        _ = try cli.runOK(["schedules", "resume", "nightly"])
        _ = try cli.runOK(["schedules", "rm", "nightly"])
        #expect(try cli.jsonArray(["schedules", "list", "--json"]).isEmpty)
    }
}

extension MultiProcess {
    /// Three workers on one home fire an every-second schedule: each tick once.
    @Suite struct ScheduledWorkersTests {
        @Test func threeWorkersFireEachTickOnce() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            _ = try cli.runOK(["schedules", "add", "pulse", "--every", "1s", "--input", "ping", "--overlap", "allow"])
            // --lease 2: a maintenance pass (which fires schedules) every second in each worker.
            let workers = try (0..<3).map { _ in try cli.start(["worker", "--lease", "2", "--concurrency", "2"]) }
            defer { workers.forEach(stopIfRunning) }

            func fired() throws -> [[String: Any]] {
                let runs = try cli.jsonObject(["schedules", "show", "pulse", "--json"])["runs"] as? [[String: Any]] ?? []
                return runs.filter { $0["outcome"] as? String == "fired" }
            }
            let enough = try eventually(within: 30) {
                Thread.sleep(forTimeInterval: 0.25)   // polls four times a second, not fifty
                return try fired().count >= 4
            }
            #expect(enough, "fewer than 4 ticks fired in 30 s")
            // Paused before the workers stop, so the count below is final.
            _ = try cli.runOK(["schedules", "pause", "pulse"])
            var outputs: [AgentQProcess.Output] = []
            for worker in workers {
                worker.signal(SIGTERM)
                outputs.append(worker.wait())
            }

            let runs = try fired()
            let ticks = runs.compactMap { $0["tick_at"] as? String }
            let batches = try cli.jsonArray(["batch", "list", "--json"]).filter { $0["source"] as? String == "schedule:pulse" }
            #expect(Set(ticks).count == runs.count, "a tick fired twice: \(ticks)")
            #expect(batches.count == runs.count, "\(batches.count) batches for \(runs.count) fired ticks")
            #expect(Set(batches.compactMap { $0["batch_id"] as? String }) == Set(runs.compactMap { $0["batch_id"] as? String }))
            for (index, output) in outputs.enumerated() {
                #expect(output.exitCode == 0, "worker \(index) stderr: \(output.stderr)")
                // The compare-and-set decides, not the unique index behind it.
                #expect(!output.stderr.contains("could not fire schedules"), "worker \(index) stderr: \(output.stderr)")
            }
        }
    }
}
