import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// The OpenAI Files and Batch APIs under `/v1` of `agentq serve`: the statuses and formats,
    /// driven over HTTP, and the whole flow driven by the official `openai` Python SDK.
    @Suite struct OpenAIBatchTests {
        static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()

        /// A line of an OpenAI batch input file.
        static func line(_ customID: String, model: String, _ text: String) -> String {
            let object: [String: Any] = [
                "custom_id": customID, "method": "POST", "url": "/v1/chat/completions",
                "body": ["model": model, "messages": [["role": "user", "content": text]]],
            ]
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }

        /// `POST /v1/files` with a multipart body made as curl or an SDK makes it.
        static func upload(_ client: APIClient, _ content: String, purpose: String? = "batch") async throws -> APIResponse {
            let boundary = "----agentq-test-\(UUID().uuidString)"
            var body = Data()
            if let purpose {
                body.append(Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n\(purpose)\r\n".utf8))
            }
            body.append(Data((
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"requests.jsonl\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n").utf8))
            body.append(Data(content.utf8))
            body.append(Data("\r\n--\(boundary)--\r\n".utf8))
            return try await client.send("POST", "/v1/files", body: body, contentType: "multipart/form-data; boundary=\(boundary)")
        }

        static func uploadedID(_ client: APIClient, _ content: String) async throws -> String {
            let response = try await upload(client, content)
            try #require(response.status == 200, "upload: \(response.status) \(response.text)")
            return try #require(response.object?["id"] as? String)
        }

        static func createBatch(_ client: APIClient, fileID: String, metadata: [String: String]? = nil) async throws -> [String: Any] {
            var request: [String: Any] = ["input_file_id": fileID, "endpoint": "/v1/chat/completions", "completion_window": "24h"]
            if let metadata { request["metadata"] = metadata }
            let response = try await client.send("POST", "/v1/batches", json: request)
            try #require(response.status == 200, "create: \(response.status) \(response.text)")
            return try #require(response.object)
        }

        /// Retrieves the batch until its status is one of `statuses` (60 s at most), as an SDK user polls.
        static func poll(_ client: APIClient, _ id: String, until statuses: Set<String>) async throws -> [String: Any] {
            for _ in 0..<600 {
                let response = try await client.send("GET", "/v1/batches/\(id)")
                let batch = try #require(response.object, "\(response.text)")
                if let status = batch["status"] as? String, statuses.contains(status) { return batch }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("batch \(id) never reached \(statuses)")
            throw CancellationError()
        }

        static func lines(_ client: APIClient, fileID: String) async throws -> [[String: Any]] {
            let response = try await client.send("GET", "/v1/files/\(fileID)/content")
            try #require(response.status == 200, "content of \(fileID): \(response.status)")
            return response.text.split(separator: "\n").map {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:]
            }
        }

        @Test func aBatchRunsItsLinesAndAnswersInOpenAIsFormatWithModelNotFoundLinesInTheErrorFile() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-openai")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.url.path)
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            let input = [Self.line("a", model: "echo", "first question"), Self.line("b", model: "gpt-4o", "second question"),
                         Self.line("c", model: "echo", "third question")].joined(separator: "\n") + "\n"
            let fileID = try await Self.uploadedID(client, input)
            let file = try await client.send("GET", "/v1/files/\(fileID)")
            #expect(file.object?["object"] as? String == "file")
            #expect(file.object?["purpose"] as? String == "batch")
            #expect(file.object?["bytes"] as? Int == input.utf8.count)
            #expect(file.object?["filename"] as? String == "requests.jsonl")
            #expect(try await client.send("GET", "/v1/files/\(fileID)/content").text == input)

            let created = try await Self.createBatch(client, fileID: fileID)
            #expect(created["object"] as? String == "batch")
            #expect(["in_progress", "finalizing", "completed"].contains(created["status"] as? String ?? ""))
            #expect(created["created_at"] as? Int ?? 0 > 1_700_000_000)   // Unix seconds, not milliseconds
            #expect((created["created_at"] as? Int ?? .max) < 10_000_000_000)
            let id = try #require(created["id"] as? String)

            // The lines are agentq jobs, visible to the CLI like any other.
            let jobs = try AgentQProcess.run(["jobs", "list", "--json"], home: home.url.path)
            let listed = (try? JSONSerialization.jsonObject(with: Data(jobs.stdout.utf8))) as? [[String: Any]] ?? []
            #expect(Set(listed.compactMap { $0["custom_id"] as? String }) == ["a", "c"], "\(jobs.stdout)")

            let batch = try await Self.poll(client, id, until: ["completed", "failed", "cancelled"])
            #expect(batch["status"] as? String == "completed")
            let counts = batch["request_counts"] as? [String: Int]
            #expect(counts == ["total": 3, "completed": 2, "failed": 1])
            for field in ["in_progress_at", "finalizing_at", "completed_at"] { #expect(batch[field] is Int, "\(field)") }

            let output = try await Self.lines(client, fileID: try #require(batch["output_file_id"] as? String))
            #expect(output.map { $0["custom_id"] as? String } == ["a", "c"])
            let first = try #require(output.first)
            #expect(first["error"] is NSNull)
            #expect((first["id"] as? String)?.hasPrefix("batch_req_") == true)
            let response = try #require(first["response"] as? [String: Any])
            #expect(response["status_code"] as? Int == 200)
            #expect(response["request_id"] is String)
            let body = try #require(response["body"] as? [String: Any])
            #expect(body["object"] as? String == "chat.completion")
            #expect(body["model"] as? String == "echo")
            #expect(body["created"] is Int)
            let choice = try #require((body["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "echo: first question")
            #expect(choice["finish_reason"] as? String == "stop")
            let usage = try #require(body["usage"] as? [String: Int])
            #expect(usage["total_tokens"] == (usage["prompt_tokens"] ?? 0) + (usage["completion_tokens"] ?? 0))
            #expect(usage["total_tokens"] ?? 0 > 0)

            let errors = try await Self.lines(client, fileID: try #require(batch["error_file_id"] as? String))
            #expect(errors.count == 1)
            #expect(errors.first?["custom_id"] as? String == "b")
            #expect((errors.first?["error"] as? [String: Any])?["code"] as? String == "model_not_found")
            #expect((errors.first?["response"] as? [String: Any])?["status_code"] as? Int == 404)

            let list = try await client.send("GET", "/v1/batches?limit=1")
            #expect(list.object?["object"] as? String == "list")
            #expect((list.object?["data"] as? [[String: Any]])?.first?["id"] as? String == id)
            #expect(list.object?["first_id"] as? String == id)
            #expect(list.object?["has_more"] as? Bool == false)
        }

        @Test func badRequestsGetTheirStatuses() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-openai")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.url.path, arguments: ["--max-upload-mb", "1"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            #expect(try await client.send("GET", "/v1/files/file-nope").status == 404)
            #expect(try await client.send("GET", "/v1/files/file-nope/content").status == 404)
            #expect(try await client.send("GET", "/v1/batches/batch_nope").status == 404)
            #expect(try await client.send("POST", "/v1/batches/batch_nope/cancel").status == 404)
            let unknownFile = try await client.send(
                "POST", "/v1/batches", json: ["input_file_id": "file-nope", "endpoint": "/v1/chat/completions", "completion_window": "24h"])
            #expect(unknownFile.status == 404, "\(unknownFile.text)")
            #expect(unknownFile.text.contains("file-nope"))

            let fileID = try await Self.uploadedID(client, Self.line("a", model: "echo", "hi") + "\n")
            let endpoint = try await client.send(
                "POST", "/v1/batches", json: ["input_file_id": fileID, "endpoint": "/v1/embeddings", "completion_window": "24h"])
            #expect(endpoint.status == 400)
            #expect(endpoint.text.contains("/v1/embeddings"))
            let noFile = try await client.send("POST", "/v1/batches", json: ["endpoint": "/v1/chat/completions"])
            #expect(noFile.status == 400)
            #expect(noFile.text.contains("input_file_id"))
            let badAgent = try await client.send(
                "POST", "/v1/batches",
                json: ["input_file_id": fileID, "endpoint": "/v1/chat/completions", "completion_window": "24h",
                       "metadata": ["agent": "no-such-agent"]])
            #expect(badAgent.status == 400)
            #expect(badAgent.text.contains("no-such-agent"))

            #expect(try await client.send("POST", "/v1/files", body: Data("x".utf8), contentType: "text/plain").status == 400)
            let noPurpose = try await Self.upload(client, "{}\n", purpose: nil)
            #expect(noPurpose.status == 400)
            #expect(noPurpose.text.contains("purpose"))
            let tooLarge = try await Self.upload(client, String(repeating: "x", count: 2 << 20))
            #expect(tooLarge.status == 413, "\(tooLarge.status) \(tooLarge.text)")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: home.url.appendingPathComponent("files").path)
            #expect(leftovers.filter { $0.hasPrefix(".partial") }.isEmpty, "\(leftovers)")

            // An invalid input file fails the batch, naming the line; nothing runs.
            let invalidID = try await Self.uploadedID(
                client, Self.line("a", model: "echo", "hi") + "\n{not json\n" + Self.line("a", model: "echo", "again") + "\n")
            let failed = try await Self.createBatch(client, fileID: invalidID)
            #expect(failed["status"] as? String == "failed")
            let problems = (failed["errors"] as? [String: Any])?["data"] as? [[String: Any]] ?? []
            #expect(problems.map { $0["line"] as? Int } == [2, 3], "\(failed)")
            #expect(problems.last?["code"] as? String == "duplicate_custom_id")
            let jobs = try AgentQProcess.run(["jobs", "list", "--json"], home: home.url.path)
            #expect(jobs.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(jobs.stdout)")
            let cancelFailed = try await client.send("POST", "/v1/batches/\(try #require(failed["id"] as? String))/cancel")
            #expect(cancelFailed.status == 409)
        }

        @Test func aCancelledBatchStopsItsLinesAndEndsCancelledWithTheirErrors() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-openai")
            defer { home.remove() }
            let definition = home.url.appendingPathComponent("slow.json")
            try #"{"name": "slow", "provider": "echo", "model": "echo", "options": {"latency_ms": 60000}}"#
                .write(to: definition, atomically: true, encoding: .utf8)
            #expect(try AgentQProcess.run(["agents", "add", definition.path], home: home.url.path).exitCode == 0)
            let server = try ServerProcess.start(home: home.url.path, arguments: ["--concurrency", "1"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            // No line names an agent: metadata.agent runs them all.
            let input = (1...3).map { Self.line("q\($0)", model: "gpt-4o-mini", "question \($0)") }.joined(separator: "\n")
            let fileID = try await Self.uploadedID(client, input)
            let created = try await Self.createBatch(client, fileID: fileID, metadata: ["agent": "slow", "project": "x"])
            #expect(created["status"] as? String == "in_progress")
            #expect(created["metadata"] as? [String: String] == ["agent": "slow", "project": "x"])
            let id = try #require(created["id"] as? String)

            let cancel = try await client.send("POST", "/v1/batches/\(id)/cancel")
            #expect(cancel.status == 200)
            #expect(["cancelling", "cancelled"].contains(cancel.object?["status"] as? String ?? ""), "\(cancel.text)")
            #expect(cancel.object?["cancelling_at"] is Int)
            let batch = try await Self.poll(client, id, until: ["cancelled", "completed", "failed"])
            #expect(batch["status"] as? String == "cancelled")
            #expect(batch["cancelled_at"] is Int)
            #expect(batch["request_counts"] as? [String: Int] == ["total": 3, "completed": 0, "failed": 3])
            #expect(batch["output_file_id"] is NSNull)
            let errors = try await Self.lines(client, fileID: try #require(batch["error_file_id"] as? String))
            #expect(Set(errors.compactMap { $0["custom_id"] as? String }) == ["q1", "q2", "q3"])
            #expect(errors.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "batch_cancelled" })
            #expect(try await client.send("POST", "/v1/batches/\(id)/cancel").status == 409)
        }

        @Test func twoServersOnOneHomeWriteABatchsFilesOnce() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-openai")
            defer { home.remove() }
            let first = try ServerProcess.start(home: home.url.path)
            defer { first.stop() }
            let second = try ServerProcess.start(home: home.url.path)
            defer { second.stop() }
            let clients = [APIClient(baseURL: first.baseURL), APIClient(baseURL: second.baseURL)]

            let input = (1...40).map { Self.line("r\($0)", model: "echo", "request \($0)") }.joined(separator: "\n")
            let fileID = try await Self.uploadedID(clients[0], input)
            let id = try #require(try await Self.createBatch(clients[1], fileID: fileID)["id"] as? String)
            // Both retrieve it over and over while it finishes, racing to finalize it.
            async let one = Self.poll(clients[0], id, until: ["completed"])
            async let two = Self.poll(clients[1], id, until: ["completed"])
            let (a, b) = try await (one, two)
            #expect(a["output_file_id"] as? String == b["output_file_id"] as? String)
            #expect(a["completed_at"] as? Int == b["completed_at"] as? Int)
            let output = try await Self.lines(clients[1], fileID: try #require(a["output_file_id"] as? String))
            #expect(output.compactMap { $0["custom_id"] as? String } == (1...40).map { "r\($0)" })
            let files = try await clients[0].send("GET", "/v1/files")
            #expect((files.object?["data"] as? [[String: Any]])?.count == 2, "\(files.text)")   // the input and one output
        }

        @Test func theOfficialOpenAIPythonSDKRunsABatchUnchanged() throws {
            let python = ProcessInfo.processInfo.environment["AGENTQ_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
                ?? Self.repositoryRoot.appendingPathComponent(".venv/bin/python").path
            let check = Process()
            check.executableURL = URL(fileURLWithPath: python)
            check.arguments = ["-c", "import openai"]
            check.standardError = FileHandle.nullDevice
            let hasSDK = (try? check.run()) != nil && { check.waitUntilExit(); return check.terminationStatus == 0 }()
            try #require(
                hasSDK,
                Comment(rawValue: "the openai Python package is not installed for \(python) ($AGENTQ_PYTHON, else .venv/bin/python): "
                    + "run `make test`, which installs it into .venv, or `.venv/bin/pip install openai==1.109.1`"))

            let home = try TemporaryDirectory(prefix: "agentq-openai")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.url.path)
            defer { server.stop() }
            let script = Process()
            script.executableURL = URL(fileURLWithPath: python)
            script.arguments = [Self.repositoryRoot.appendingPathComponent("Tests/Support/openai_batch_flow.py").path, server.baseURL + "/v1"]
            let out = Pipe()
            script.standardOutput = out
            script.standardError = out
            try script.run()
            let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            script.waitUntilExit()
            #expect(script.terminationStatus == 0, "\(output)")
            #expect(output.contains("OK"), "\(output)")
        }
    }
}
