import AgentQTesting
import Foundation
import Testing

/// Bad bulk files: the whole file is rejected with `FILE:LINE: reason`, nothing is enqueued.
@Suite struct SubmitValidationTests {
    static let goodLine = #"{"input": "fine"}"#

    /// `jobs list --json` and `batch list --json` are both empty.
    func expectNothingEnqueued(_ cli: CLIHome, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let jobs = try cli.jsonArray(["jobs", "list", "--json"], sourceLocation: sourceLocation)
        #expect(jobs.isEmpty, "jobs were enqueued: \(jobs)", sourceLocation: sourceLocation)
        let batches = try cli.jsonArray(["batch", "list", "--json"], sourceLocation: sourceLocation)
        #expect(batches.isEmpty, "a batch was created: \(batches)", sourceLocation: sourceLocation)
    }

    @Test func badJSONAndMissingInputRejectTheFile() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [
                Self.goodLine,
                Self.goodLine,
                #"{"input": "oops""#,
                Self.goodLine,
                #"{"custom_id": "no-input"}"#,
                Self.goodLine,
            ].joined(separator: "\n") + "\n", to: "bad.jsonl")

        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1, "stderr: \(output.stderr)")
        let stderrLines = output.stderr.split(separator: "\n").map(String.init)
        let line3 = stderrLines.first { $0.hasPrefix("\(file):3: ") }
        let line5 = stderrLines.first { $0.hasPrefix("\(file):5: ") }
        #expect(line3 != nil, "no \(file):3: line in: \(output.stderr)")
        #expect(line5 != nil, "no \(file):5: line in: \(output.stderr)")
        #expect(line3?.contains("JSON") == true, "line 3's reason: \(line3 ?? "-")")
        #expect(line5?.contains("input") == true, "line 5's reason: \(line5 ?? "-")")
        // Only the bad lines are reported.
        for good in [1, 2, 4, 6] {
            #expect(!output.stderr.contains("\(file):\(good):"), "good line \(good) reported: \(output.stderr)")
        }
        try expectNothingEnqueued(cli)
    }

    /// Stored, a NUL would end the prompt there (SQLite's readers stop at it): the model would
    /// get half the text and nobody would know.
    @Test func aNULCharacterRejectsTheFileNamingItsLine() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [Self.goodLine, #"{"input": "before\u0000after"}"#, Self.goodLine].joined(separator: "\n") + "\n", to: "nul.jsonl")
        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1, "stderr: \(output.stderr)")
        let line2 = output.stderr.split(separator: "\n").first { $0.hasPrefix("\(file):2: ") }
        #expect(line2?.contains("\"input\" contains a NUL character") == true, "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func invalidUTF8RejectsTheFile() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        var data = Data((Self.goodLine + "\n").utf8)
        data.append(Data(#"{"input": "caf"#.utf8))
        data.append(contentsOf: [0xC3, 0x28, 0xFF])   // not UTF-8
        data.append(Data("\"}\n".utf8))
        data.append(Data((Self.goodLine + "\n").utf8))
        let file = try cli.write(data, to: "latin.jsonl")

        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1, "stderr: \(output.stderr)")
        let line2 = output.stderr.split(separator: "\n").first { $0.hasPrefix("\(file):2: ") }
        #expect(line2?.contains("UTF-8") == true, "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func skipInvalidEnqueuesTheGoodLinesAndListsTheSkippedOnes() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [
                #"{"custom_id": "a", "input": "one"}"#,
                #"{"custom_id": "b", "input": "two"}"#,
                "not json at all",
                #"{"custom_id": "d", "input": "four"}"#,
                #"{"custom_id": "e"}"#,
            ].joined(separator: "\n") + "\n", to: "mixed.jsonl")

        let output = try cli.run(["submit", file, "--skip-invalid", "--json"])
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        #expect(output.stderr.contains("\(file):3:"), "stderr: \(output.stderr)")
        #expect(output.stderr.contains("\(file):5:"), "stderr: \(output.stderr)")
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any], "stdout: \(output.stdout)")
        #expect(report["jobs"] as? Int == 3)
        #expect(report["skipped"] as? Int == 2)
        let batchID = try #require(report["batch_id"] as? String)

        let jobs = try cli.jobs(batch: batchID)
        #expect(jobs.map { $0["custom_id"] as? String } == ["a", "b", "d"])
        #expect(jobs.allSatisfy { $0["status"] as? String == "queued" })
    }

    @Test func unknownAgentIsRejectedWithItsLineNumber() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(
            [Self.goodLine, #"{"input": "hi", "agent": "ghost"}"#, Self.goodLine].joined(separator: "\n") + "\n",
            to: "ghost.jsonl")

        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1, "stderr: \(output.stderr)")
        let line2 = output.stderr.split(separator: "\n").first { $0.hasPrefix("\(file):2: ") }
        #expect(line2?.contains("ghost") == true, "stderr: \(output.stderr)")
        #expect(!output.stderr.contains("\(file):1:"))
        #expect(!output.stderr.contains("\(file):3:"))
        try expectNothingEnqueued(cli)

        // A default agent that does not exist rejects every line that names none.
        let byDefault = try cli.run(["submit", file, "--agent", "nobody"])
        #expect(byDefault.exitCode == 1)
        #expect(byDefault.stderr.contains("\(file):1:") && byDefault.stderr.contains("nobody"), "stderr: \(byDefault.stderr)")
        #expect(byDefault.stderr.contains("\(file):3:"), "stderr: \(byDefault.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func unknownFieldIsRejected() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write(#"{"input": "hi", "prompt": "extra"}"# + "\n", to: "field.jsonl")
        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1)
        let line1 = output.stderr.split(separator: "\n").first { $0.hasPrefix("\(file):1: ") }
        #expect(line1?.contains("prompt") == true, "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func missingFileIsAClearError() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let missing = cli.files + "/does-not-exist.jsonl"
        let output = try cli.run(["submit", missing])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains(missing), "stderr: \(output.stderr)")
        #expect(output.stderr.contains("no such file"), "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func emptyFileIsRejected() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let file = try cli.write("\n  \n", to: "empty.jsonl")
        let output = try cli.run(["submit", file])
        #expect(output.exitCode != 0)
        #expect(output.stderr.contains(file), "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)
    }

    @Test func dashReadsStandardInput() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let stdin = #"{"custom_id": "s1", "input": "from stdin"}"# + "\n" + #"{"custom_id": "s2", "input": "second"}"# + "\n"
        let output = try cli.run(["submit", "-", "--json"], stdin: stdin)
        #expect(output.exitCode == 0, "stderr: \(output.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
        #expect(report["jobs"] as? Int == 2)
        let batchID = try #require(report["batch_id"] as? String)

        let drain = try cli.run(["worker", "--drain"])
        #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")
        let jobs = try cli.jobs(batch: batchID)
        #expect(jobs.map { $0["custom_id"] as? String } == ["s1", "s2"])
        #expect(jobs.map { $0["response"] as? String } == ["echo: from stdin", "echo: second"])

        // A bad line on stdin is reported against "-".
        let bad = try cli.run(["submit", "-"], stdin: Self.goodLine + "\n{\n")
        #expect(bad.exitCode == 1)
        #expect(bad.stderr.contains("-:2:"), "stderr: \(bad.stderr)")
    }

    @Test func aBadLastLineOfALargeFileRejectsItAll() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        var text = ""
        for index in 1..<50_000 { text += "{\"custom_id\": \"c\(index)\", \"input\": \"prompt \(index)\"}\n" }
        let file = try cli.write(text + #"{"custom_id": "c50000", "input": "cut"# + "\n", to: "large.jsonl")

        let output = try cli.run(["submit", file])
        #expect(output.exitCode == 1, "stderr: \(output.stderr)")
        let reported = output.stderr.split(separator: "\n").filter { $0.hasPrefix("\(file):") }
        #expect(reported == ["\(file):50000: not valid JSON"], "stderr: \(output.stderr)")
        try expectNothingEnqueued(cli)

        // The same file from standard input.
        let piped = try cli.run(["submit", "-"], stdin: text + "{\n")
        #expect(piped.exitCode == 1, "stderr: \(piped.stderr)")
        #expect(piped.stderr.contains("-:50000: not valid JSON"), "stderr: \(piped.stderr)")
        try expectNothingEnqueued(cli)
    }
}
