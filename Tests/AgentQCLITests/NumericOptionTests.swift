import AgentQTesting
import Foundation
import Testing

/// Numeric options are checked before anything runs: a bad value is a usage error (exit 64)
/// naming the option, never a crash; negative numbers parse where they mean something.
@Suite("Numeric options")
struct NumericOptionTests {
    static let badSeconds = ["inf", "-inf", "nan", "-1", "1e309", "1e300"]

    static let cases: [[String]] =
        badSeconds.flatMap { value in
            [["worker", "--drain", "--grace", value], ["worker", "--drain", "--lease", value],
             ["worker", "--drain", "--retry-delay", value]]
        } + [
            ["worker", "--drain", "--lease", "0"],
            ["worker", "--drain", "--concurrency", "0"],
            ["worker", "--drain", "--concurrency", "-3"],
            ["worker", "--drain", "--prefetch", "-1"],
            ["submit", "FILE", "--wait", "--concurrency", "0"],
            ["submit", "FILE", "--max-attempts", "0"],
            ["submit", "FILE", "--max-attempts", "-2"],
            ["submit", "FILE", "--max-cost-usd", "nan"],
            ["submit", "FILE", "--max-cost-usd", "inf"],
            ["submit", "FILE", "--max-cost-usd", "-0.5"],
            ["submit", "FILE", "--max-tokens-total", "0"],
            ["submit", "FILE", "--max-tokens-total", "-5"],
            ["jobs", "list", "--limit", "0"],
            ["jobs", "list", "--limit", "-1"],
            ["batch", "list", "--limit", "0"],
            ["batch", "list", "--limit", "-1"],
        ]

    @Test("bad numbers are usage errors naming the option", arguments: cases)
    func badNumbersAreUsageErrors(arguments: [String]) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"input": "hi"}"# + "\n", to: "one.jsonl")
        let resolved = arguments.map { $0 == "FILE" ? file : $0 }
        let output = try cli.run(resolved)
        let option = try #require(arguments.last { $0.hasPrefix("--") })
        #expect(output.exitCode == 64, "\(arguments): exit \(output.exitCode), stderr: \(output.stderr)")
        #expect(output.stderr.contains(option), "\(arguments): stderr: \(output.stderr)")
        #expect(!output.stderr.contains("Fatal error"), "\(arguments): stderr: \(output.stderr)")
        if arguments.first == "submit" {
            #expect(try cli.jsonArray(["jobs", "list", "--json"]).isEmpty, "nothing may be enqueued")
        }
    }

    @Test("a negative priority is written the natural way", arguments: [["--priority", "-1"], ["--priority=-1"]])
    func negativePriorityParses(arguments: [String]) throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"input": "hi"}"# + "\n", to: "one.jsonl")
        let (batchID, _) = try cli.submit(file, arguments)
        #expect(try cli.jobs(batch: batchID).map { $0["priority"] as? Int } == [-1])
    }

    @Test("zero grace and zero retry delay still mean 'at once'")
    func zeroGraceAndRetryDelayAreAllowed() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let output = try cli.run(["worker", "--drain", "--grace", "0", "--retry-delay", "0", "--lease", "1.5"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
    }
}
