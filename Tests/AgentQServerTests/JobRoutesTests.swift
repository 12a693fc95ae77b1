import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// The job endpoints, over real HTTP against the built binary.
    @Suite struct JobRoutesTests {
        @Test func listingFiltersAndPagesWithoutOverlap() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-jobs")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let first = try await client.send("POST", "/batches", body: jsonl(lines: 5))
            let batchA = try #require(first.object?["batch_id"] as? String)
            let sessionLines = (1...3).map { #"{"custom_id":"s-\#($0)","session":"s1","input":"hello"}"# }.joined(separator: "\n")
            #expect(try await client.send("POST", "/batches", body: Data(sessionLines.utf8)).status == 201)

            let all = try #require(try await client.send("GET", "/jobs").array)
            #expect(all.count == 8)
            // Newest first.
            #expect(all.first?["custom_id"] as? String == "s-3")
            #expect(all.last?["custom_id"] as? String == "line-1")

            var paged: [String] = []
            var after: String?
            for _ in 0..<4 {
                let page = try #require(try await client.send("GET", "/jobs?limit=3" + (after.map { "&after=\($0)" } ?? "")).array)
                paged += page.map { $0["job_id"] as? String ?? "" }
                guard page.count == 3 else { break }
                after = page.last?["job_id"] as? String
            }
            #expect(paged == all.map { $0["job_id"] as? String ?? "" })

            let ofBatch = try #require(try await client.send("GET", "/jobs?batch=\(batchA)").array)
            #expect(ofBatch.map { $0["custom_id"] as? String ?? "" } == (1...5).map { "line-\($0)" })
            #expect(try await client.send("GET", "/jobs?session=s1").array?.count == 3)
            #expect(try await client.send("GET", "/jobs?status=queued").array?.count == 8)
            #expect(try await client.send("GET", "/jobs?status=succeeded").array?.count == 0)

            for (query, parameter) in [("status=done", "status"), ("limit=0", "limit"), ("limit=x", "limit"), ("after=job_nope", "after")] {
                let response = try await client.send("GET", "/jobs?\(query)")
                #expect(response.status == 400, "\(query): \(response.status)")
                #expect(response.text.contains(parameter), "\(query): \(response.text)")
            }

            let id = try #require(ofBatch.first?["job_id"] as? String)
            let job = try await client.send("GET", "/jobs/\(id)")
            #expect(job.status == 200)
            #expect(job.object?["attempt_errors"] as? [Any] != nil)
            // The same document `agentq jobs get --json` prints.
            let cli = try AgentQProcess.run(["jobs", "get", id, "--json"], home: home.path)
            #expect(cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == job.text)
            let missing = try await client.send("GET", "/jobs/job_nope")
            #expect(missing.status == 404)
            #expect(missing.text.contains("job_nope"))
        }

        @Test func cancelAndRetryAnswerWithTheOutcomeOrAConflict() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-jobs")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            _ = try await client.send("POST", "/batches", body: jsonl(lines: 2))
            let ids = try #require(try await client.send("GET", "/jobs").array).compactMap { $0["job_id"] as? String }

            let notRetryable = try await client.send("POST", "/jobs/\(ids[0])/retry")
            #expect(notRetryable.status == 409)
            #expect(notRetryable.text.contains("queued"))
            let cancelled = try await client.send("POST", "/jobs/\(ids[0])/cancel")
            #expect(cancelled.status == 200)
            #expect(cancelled.object?["outcome"] as? String == "cancelled")
            let again = try await client.send("POST", "/jobs/\(ids[0])/cancel")
            #expect(again.status == 409)
            #expect(again.text.contains("already cancelled"))
            let retried = try await client.send("POST", "/jobs/\(ids[0])/retry")
            #expect(retried.status == 200)
            #expect(retried.object?["status"] as? String == "queued")
            for action in ["cancel", "retry"] {
                let response = try await client.send("POST", "/jobs/job_nope/\(action)")
                #expect(response.status == 404, "\(action)")
                #expect(response.text.contains("job_nope"))
            }

            // A pruned job is gone, and the 404 says so.
            _ = try await client.send("POST", "/jobs/\(ids[1])/cancel")
            let pruned = try AgentQProcess.run(["prune", "--finished-before", "0m"], home: home.path)
            #expect(pruned.exitCode == 0, "\(pruned.stderr)")
            let gone = try await client.send("GET", "/jobs/\(ids[1])")
            #expect(gone.status == 404)
            #expect(gone.text.contains("pruned"), "\(gone.text)")
            #expect(gone.text.contains(ids[1]))
        }

        @Test func aRunningJobsCancelIsAcceptedAndAFailedJobIsRetried() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-jobs")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path)
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let slow = ["name": "slow", "provider": "echo", "model": "echo", "options": ["latency_ms": 60_000]] as [String: Any]
            let broken = ["name": "broken", "provider": "echo", "model": "echo", "options": ["fail_permanently": true]] as [String: Any]
            #expect(try await client.send("POST", "/agents", json: slow).status == 201)
            #expect(try await client.send("POST", "/agents", json: broken).status == 201)

            let created = try await client.send("POST", "/batches?agent=slow", body: jsonl(lines: 1))
            let batchID = try #require(created.object?["batch_id"] as? String)
            let id = try #require(try await client.send("GET", "/jobs?batch=\(batchID)").array?.first?["job_id"] as? String)
            #expect(try await until(within: 30) {
                try await client.send("GET", "/jobs/\(id)").object?["status"] as? String == "running"
            })
            let requested = try await client.send("POST", "/jobs/\(id)/cancel")
            #expect(requested.status == 202)
            #expect(requested.object?["outcome"] as? String == "cancel_requested")
            #expect(try await until(within: 30) {
                try await client.send("GET", "/jobs/\(id)").object?["status"] as? String == "cancelled"
            })

            let failing = try await client.send("POST", "/batches?agent=broken&max_attempts=1", body: jsonl(lines: 1))
            let failingBatch = try #require(failing.object?["batch_id"] as? String)
            let failedID = try #require(try await client.send("GET", "/jobs?batch=\(failingBatch)").array?.first?["job_id"] as? String)
            #expect(try await until(within: 30) {
                try await client.send("GET", "/jobs/\(failedID)").object?["status"] as? String == "failed"
            })
            let failed = try await client.send("GET", "/jobs/\(failedID)")
            #expect((failed.object?["attempt_errors"] as? [Any])?.count == 1)
            let failedVersion = try #require(failed.object?["version"] as? Int)
            let retried = try await client.send("POST", "/jobs/\(failedID)/retry")
            #expect(retried.status == 200, "\(retried.text)")
            #expect(try await until(within: 30) {
                // Run again, and failed again.
                let job = try await client.send("GET", "/jobs/\(failedID)").object
                return job?["status"] as? String == "failed" && job?["version"] as? Int ?? 0 > failedVersion + 1
            })
        }
    }
}
