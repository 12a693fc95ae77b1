import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// A large generated file: submit, drain with many workers, collect. Serialized with the
    /// multi-process suites because it loads every core, which would stretch their deadlines.
    @Suite struct BulkSubmitTests {
        static let count = 2_000

        @Test func twoThousandLinesDrainIntoResultsInInputOrder() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let lines = (0..<Self.count).map { index -> [String: Any] in
                ["custom_id": "line-\(index)", "input": "prompt number \(index)"]
            }
            let file = try cli.write(try jsonLines(lines), to: "bulk.jsonl")

            let (batchID, jobs) = try cli.submit(file)
            #expect(batchID.hasPrefix("bat_"))
            #expect(jobs == Self.count)

            let drain = try cli.run(["worker", "--drain", "--concurrency", "8"])
            #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")

            // Exactly one result file per line, each with the echo of its own input.
            let files = try cli.resultFiles()
            #expect(files.count == Self.count)
            var customIDs: Set<String> = []
            for file in files {
                let result = try cli.result(jobID: String(file.dropLast(".json".count)))
                let customID = try #require(result["custom_id"] as? String)
                let index = try #require(Int(customID.dropFirst("line-".count)))
                #expect(result["status"] as? String == "succeeded")
                #expect(result["response"] as? String == "echo: prompt number \(index)")
                #expect(result["batch_id"] as? String == batchID)
                customIDs.insert(customID)
            }
            #expect(customIDs.count == Self.count)

            // `batch results` prints one line per job, in input order.
            let results = try cli.run(["batch", "results", batchID])
            #expect(results.exitCode == 0, "stderr: \(results.stderr)")
            let printed = try parseJSONLines(results.stdout)
            #expect(printed.count == Self.count)
            #expect(printed.map { $0["custom_id"] as? String } == lines.map { $0["custom_id"] as? String })
            #expect(printed.allSatisfy { $0["status"] as? String == "succeeded" })
            if let first = printed.first {
                #expect(first["response"] as? String == "echo: prompt number 0")
            }

            // `--output FILE` writes the same bytes to a file, and nothing to stdout.
            let outputPath = cli.files + "/out.jsonl"
            let toFile = try cli.run(["batch", "results", batchID, "--output", outputPath])
            #expect(toFile.exitCode == 0, "stderr: \(toFile.stderr)")
            #expect(toFile.stdout.isEmpty)
            let written = try String(contentsOfFile: outputPath, encoding: .utf8)
            #expect(written == results.stdout)

            // `batch status --json`.
            let status = try cli.batchStatus(batchID)
            #expect(status["batch_id"] as? String == batchID)
            #expect(status["status"] as? String == "completed")
            let counts = try #require(status["counts"] as? [String: Any])
            #expect(counts["total"] as? Int == Self.count)
            #expect(counts["succeeded"] as? Int == Self.count)
            #expect(counts["queued"] as? Int == 0)
            #expect(counts["running"] as? Int == 0)
            #expect(counts["failed"] as? Int == 0)
            #expect(counts["cancelled"] as? Int == 0)
        }

        /// More lines than the parser decodes in one chunk (2,048) and `batch results` reads in one page (2,000).
        @Test func fiveThousandLinesKeepTheirOrderAcrossChunksAndPages() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let count = 5_001
            let lines = (0..<count).map { ["custom_id": "n\($0)", "input": "item \($0)"] as [String: Any] }
            let (batchID, jobs) = try cli.submit(try cli.write(try jsonLines(lines), to: "big.jsonl"))
            #expect(jobs == count)
            let drain = try cli.run(["worker", "--drain", "--concurrency", "8"])
            #expect(drain.exitCode == 0, "stderr: \(drain.stderr)")
            #expect(try cli.resultFiles().count == count)

            let printed = try parseJSONLines(try cli.runOK(["batch", "results", batchID]))
            #expect(printed.count == count)
            #expect(printed.map { $0["custom_id"] as? String } == lines.map { $0["custom_id"] as? String })
            #expect(printed.map { $0["response"] as? String } == (0..<count).map { "echo: item \($0)" })
            let counts = try #require(try cli.batchStatus(batchID)["counts"] as? [String: Any])
            #expect(counts["total"] as? Int == count)
            #expect(counts["succeeded"] as? Int == count)
        }
    }
}

@Suite struct BatchCommandTests {
    @Test func batchCommandsNameAnUnknownBatch() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        for command in [["batch", "status", "bat_nope"], ["batch", "results", "bat_nope"], ["batch", "cancel", "bat_nope"]] {
            let output = try cli.run(command)
            #expect(output.exitCode != 0, "\(command)")
            #expect(output.stderr.contains("bat_nope"), "\(command): \(output.stderr)")
        }
    }
}
