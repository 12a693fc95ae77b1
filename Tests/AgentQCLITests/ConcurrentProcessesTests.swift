import AgentQTesting
import Foundation
import Testing

extension MultiProcess {
    /// Many processes on one home: two long-running workers, four submitters at the same time.
    @Suite struct ConcurrentProcessesTests {
        static let submitters = 4
        static let linesPerFile = 250

        @Test func fourSubmittersAndTwoWorkersShareOneHome() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            let total = Self.submitters * Self.linesPerFile
            var files: [String] = []
            for file in 0..<Self.submitters {
                let lines = (0..<Self.linesPerFile).map { line -> [String: Any] in
                    ["custom_id": "f\(file)-\(line)", "input": "file \(file) line \(line)"]
                }
                files.append(try cli.write(try jsonLines(lines), to: "part\(file).jsonl"))
            }

            // Create the home first, so the workers do not race each other to make it.
            _ = try cli.runOK(["agents", "list"])
            let workers = try (0..<2).map { _ in try cli.start(["worker", "--concurrency", "4"]) }
            defer { workers.forEach(stopIfRunning) }

            let submitting = try files.map { try cli.start(["submit", $0, "--json"]) }
            let submitted = submitting.map { $0.wait() }
            var batchIDs: [String] = []
            for (index, output) in submitted.enumerated() {
                #expect(output.exitCode == 0, "submitter \(index) stderr: \(output.stderr)")
                let report = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any]
                #expect(report?["jobs"] as? Int == Self.linesPerFile)
                if let id = report?["batch_id"] as? String { batchIDs.append(id) }
            }
            try #require(batchIDs.count == Self.submitters && Set(batchIDs).count == Self.submitters)

            var succeeded = 0
            let done = try eventually(within: 90) {
                succeeded = try cli.jsonArray(["batch", "list", "--json"])
                    .map { ($0["counts"] as? [String: Any])?["succeeded"] as? Int ?? 0 }.reduce(0, +)
                return succeeded == total
            }
            #expect(done, "only \(succeeded) of \(total) jobs succeeded")
            for id in batchIDs {
                #expect(try cli.batchStatus(id)["status"] as? String == "completed")
            }

            var workerOutputs: [AgentQProcess.Output] = []
            for worker in workers {
                worker.signal(SIGTERM)
                workerOutputs.append(worker.wait())
            }
            for (index, output) in workerOutputs.enumerated() {
                #expect(output.exitCode == 0, "worker \(index) exited \(output.exitCode); stderr: \(output.stderr)")
            }

            // Every job ran once, and has its file.
            let resultFiles = try cli.resultFiles()
            #expect(resultFiles.count == total)
            var customIDs: Set<String> = []
            for file in resultFiles {
                let result = try cli.result(jobID: String(file.dropLast(".json".count)))
                #expect(result["status"] as? String == "succeeded")
                #expect(result["attempts"] as? Int == 1, "\(file) ran \(result["attempts"] ?? "?") times")
                if let customID = result["custom_id"] as? String { customIDs.insert(customID) }
            }
            #expect(customIDs.count == total)

            let everyone = submitted.map { ("submitter", $0) } + workerOutputs.map { ("worker", $0) }
            for (name, output) in everyone {
                #expect(!output.stderr.contains("database is locked"), "\(name) stderr: \(output.stderr)")
            }
        }

        @Test func submitWaitRunsAlongsideARunningWorker() throws {
            let cli = try CLIHome()
            defer { cli.remove() }
            _ = try cli.runOK(["agents", "list"])
            let worker = try cli.start(["worker", "--concurrency", "2"])
            defer { stopIfRunning(worker) }

            let lines = (0..<300).map { ["custom_id": "w\($0)", "input": "together \($0)"] as [String: Any] }
            let file = try cli.write(try jsonLines(lines), to: "together.jsonl")
            let submit = try cli.run(["submit", file, "--wait", "--json"])
            #expect(submit.exitCode == 0, "stderr: \(submit.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(submit.stdout.utf8)) as? [String: Any])
            let batchID = try #require(report["batch_id"] as? String)

            // `--wait` returns once its batch is finished, whoever ran the jobs.
            let status = try cli.batchStatus(batchID)
            #expect(status["status"] as? String == "completed")
            #expect((status["counts"] as? [String: Any])?["succeeded"] as? Int == 300)
            #expect(try cli.resultFiles().count == 300)
            #expect(try cli.jobs(batch: batchID).allSatisfy { $0["attempts"] as? Int == 1 })

            worker.signal(SIGTERM)
            let output = worker.wait()
            #expect(output.exitCode == 0, "stderr: \(output.stderr)")
            #expect(!output.stderr.contains("database is locked") && !submit.stderr.contains("database is locked"))
        }
    }
}
