import AgentQTesting
import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

extension ServerSuite {
    /// `POST /batches` and the batch endpoints, over real HTTP against the built binary.
    @Suite struct BatchRoutesTests {
        @Test func aThousandLineUploadRunsAndItsResultsComeBackInInputOrder() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path)
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)

            let created = try await client.send(
                "POST", "/batches?priority=2&max_attempts=2", body: jsonl(lines: 1000), contentType: "application/x-ndjson")
            #expect(created.status == 201, "\(created.text)")
            #expect(created.object?["jobs"] as? Int == 1000)
            #expect(created.object?["skipped"] as? Int == 0)
            let batchID = try #require(created.object?["batch_id"] as? String)

            let finished = try await until(within: 60) {
                try await client.send("GET", "/batches/\(batchID)").object?["status"] as? String == "completed"
            }
            #expect(finished)
            let status = try await client.send("GET", "/batches/\(batchID)")
            #expect(status.status == 200)
            let counts = try #require(status.object?["counts"] as? [String: Any])
            #expect(counts["total"] as? Int == 1000)
            #expect(counts["succeeded"] as? Int == 1000)
            #expect((status.object?["usage"] as? [String: Any])?["output_tokens"] as? Int ?? 0 > 0, "\(status.text)")
            // The same document `agentq batch status --json` prints.
            let cli = try AgentQProcess.run(["batch", "status", batchID, "--json"], home: home.path)
            #expect(cli.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == status.text)

            let results = try await client.send("GET", "/batches/\(batchID)/results")
            #expect(results.status == 200)
            #expect(results.header("content-type") == "application/x-ndjson")
            let documents = results.text.split(separator: "\n").map { line in
                (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
            }
            #expect(documents.count == 1000)
            #expect(documents.map { $0["custom_id"] as? String ?? "" } == (1...1000).map { "line-\($0)" })
            #expect(documents.allSatisfy { $0["status"] as? String == "succeeded" && $0["priority"] as? Int == 2 })
            #expect(documents.allSatisfy { $0["max_attempts"] as? Int == 2 })

            let listed = try await client.send("GET", "/batches")
            #expect(listed.array?.map { $0["batch_id"] as? String } == [batchID])
            #expect(try uploadsLeft(home) == 0)
        }

        @Test func aBadLine700IsRejectedNamingItAndNothingIsEnqueued() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let body = jsonl(lines: 1000, replacing: [700: #"{"custom_id":"bad","inptu":"typo"}"#])

            let rejected = try await client.send("POST", "/batches", body: body, contentType: "application/x-ndjson")
            #expect(rejected.status == 400)
            #expect(rejected.errorType == "invalid_jsonl")
            let message = (rejected.object?["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("upload:700:"), "\(message)")
            #expect(message.contains("nothing was enqueued"), "\(message)")
            #expect(try await client.send("GET", "/jobs").array?.count == 0)
            #expect(try await client.send("GET", "/batches").array?.count == 0)
            #expect(try uploadsLeft(home) == 0)

            let skipping = try await client.send("POST", "/batches?skip_invalid=true", body: body, contentType: "application/x-ndjson")
            #expect(skipping.status == 201, "\(skipping.text)")
            #expect(skipping.object?["jobs"] as? Int == 999)
            #expect(skipping.object?["skipped"] as? Int == 1)

            // An OpenAI Batch API line is a line like any other.
            let openAI = #"{"custom_id":"oa-1","method":"POST","url":"/v1/chat/completions","body":{"model":"echo","messages":[{"role":"user","content":"hi"}]}}"#
            let mixed = try await client.send("POST", "/batches", body: Data((openAI + "\n").utf8), contentType: "application/x-ndjson")
            #expect(mixed.status == 201, "\(mixed.text)")
            let empty = try await client.send("POST", "/batches", body: Data(), contentType: "application/x-ndjson")
            #expect(empty.status == 400)
            #expect(empty.errorType == "invalid_jsonl")
        }

        @Test func anUploadOverTheLimitIs413AndNothingIsEnqueued() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker", "--max-upload-mb", "1"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let body = jsonl(lines: 40_000)   // about 2 MiB
            #expect(body.count > 1 << 20)

            let declared = try await client.send("POST", "/batches", body: body, contentType: "application/x-ndjson")
            #expect(declared.status == 413)
            #expect(declared.errorType == "body_too_large")

            // No Content-Length (chunked): counted while it streams in.
            let http = HTTPClient(eventLoopGroupProvider: .singleton)
            var request = HTTPClientRequest(url: server.baseURL + "/batches")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-ndjson")
            let chunks = stride(from: 0, to: body.count, by: 64 << 10).map { ByteBuffer(bytes: body[$0..<min($0 + (64 << 10), body.count)]) }
            let stream = AsyncStream<ByteBuffer> { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
            request.body = .stream(stream, length: .unknown)
            do {
                let response = try await http.execute(request, timeout: .seconds(60))
                #expect(response.status.code == 413)
            } catch {
                // The server may close the connection before the client has sent everything; what
                // matters is below: nothing was enqueued.
                print("chunked upload over the limit ended with \(error)")
            }
            try await http.shutdown()

            #expect(try await client.send("GET", "/jobs").array?.count == 0)
            #expect(try await client.send("GET", "/batches").array?.count == 0)
            #expect(try uploadsLeft(home) == 0)
            let small = try await client.send("POST", "/batches", body: jsonl(lines: 10), contentType: "application/x-ndjson")
            #expect(small.status == 201)
        }

        @Test func badQueryValuesUnknownIDsAndPaging() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let body = jsonl(lines: 3)

            let unknownAgent = try await client.send("POST", "/batches?agent=nosuch", body: body)
            #expect(unknownAgent.status == 404)
            #expect(unknownAgent.errorType == "unknown_agent")
            #expect(unknownAgent.text.contains("nosuch"))
            for (query, parameter) in [
                ("priority=high", "priority"), ("max_attempts=0", "max_attempts"), ("skip_invalid=maybe", "skip_invalid"),
                ("agent=../x", "agent"), ("max_cost_usd=-1", "max_cost_usd"),
            ] {
                let response = try await client.send("POST", "/batches?\(query)", body: body)
                #expect(response.status == 400, "\(query): \(response.status)")
                #expect(response.text.contains(parameter), "\(query): \(response.text)")
            }
            #expect(try await client.send("GET", "/jobs").array?.count == 0)

            var ids: [String] = []
            for _ in 0..<3 {
                let created = try await client.send("POST", "/batches", body: body)
                ids.append(try #require(created.object?["batch_id"] as? String))
            }
            let first = try await client.send("GET", "/batches?limit=2")
            #expect(first.array?.map { $0["batch_id"] as? String ?? "" } == [ids[2], ids[1]])
            let second = try await client.send("GET", "/batches?limit=2&after=\(ids[1])")
            #expect(second.array?.map { $0["batch_id"] as? String ?? "" } == [ids[0]])
            #expect(try await client.send("GET", "/batches?limit=0").status == 400)
            let badCursor = try await client.send("GET", "/batches?after=bat_nope")
            #expect(badCursor.status == 400)
            #expect(badCursor.text.contains("after"))

            for (method, path) in [("GET", "/batches/bat_nope"), ("GET", "/batches/bat_nope/results"), ("POST", "/batches/bat_nope/cancel")] {
                let response = try await client.send(method, path)
                #expect(response.status == 404, "\(method) \(path)")
                #expect(response.errorType == "not_found")
                #expect(response.text.contains("bat_nope"))
            }
        }

        @Test func cancellingABatchCountsWhatItDid() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let created = try await client.send("POST", "/batches", body: jsonl(lines: 5))
            let batchID = try #require(created.object?["batch_id"] as? String)

            let cancelled = try await client.send("POST", "/batches/\(batchID)/cancel")
            #expect(cancelled.status == 200)
            #expect(cancelled.object?["cancelled"] as? Int == 5)
            #expect(cancelled.object?["cancel_requested"] as? Int == 0)
            let again = try await client.send("POST", "/batches/\(batchID)/cancel")
            #expect(again.object?["cancelled"] as? Int == 0)
            #expect(again.object?["cancel_requested"] as? Int == 0)
            #expect(try await client.send("GET", "/batches/\(batchID)").object?["status"] as? String == "cancelled")
        }

        @Test func theResultsOfA20000JobBatchStream() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-batches")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.path, arguments: ["--no-worker"])
            defer { server.stop() }
            let client = APIClient(baseURL: server.baseURL)
            let created = try await client.send("POST", "/batches", body: jsonl(lines: 20_000))
            #expect(created.status == 201, "\(created.text)")
            let batchID = try #require(created.object?["batch_id"] as? String)

            let before = residentKilobytes(of: server.process.pid)
            let results = try await client.send("GET", "/batches/\(batchID)/results")
            let after = residentKilobytes(of: server.process.pid)
            print("GET /batches/…/results of 20,000 jobs: \(results.body.count / 1024) KiB sent; server RSS \(before) KiB before, \(after) KiB after")
            #expect(results.status == 200)
            let lines = results.text.split(separator: "\n")
            #expect(lines.count == 20_000)
            #expect(lines.first?.contains(#""custom_id":"line-1""#) == true)
            #expect(lines.last?.contains(#""custom_id":"line-20000""#) == true)
        }
    }
}

/// `count` JSONL lines `{"custom_id":"line-N","input":"prompt N…"}`, some replaced by the text given.
func jsonl(lines count: Int, replacing: [Int: String] = [:]) -> Data {
    var text = ""
    for number in 1...count {
        text += replacing[number] ?? #"{"custom_id":"line-\#(number)","input":"prompt \#(number)"}"#
        text += "\n"
    }
    return Data(text.utf8)
}

/// Polls `condition` until it holds or `seconds` pass.
func until(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Files left in the home's upload directory.
func uploadsLeft(_ home: TemporaryDirectory) throws -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: home.path + "/uploads"))?.count ?? 0
}

/// A process's resident memory (VmRSS), in KiB; 0 when /proc cannot tell.
func residentKilobytes(of pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}
