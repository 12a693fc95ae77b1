import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// The session endpoints of `agentq serve`: CRUD, paging, the blocking message, and every
    /// refusal with its status, over real HTTP to the real binary.
    @Suite struct SessionEndpointTests {
        @Test func createGetRenamePauseResumeEnd() async throws {
            let test = try SessionTestHome()
            let created = try await test.client.send("POST", "/sessions", json: ["agent_id": "echo", "title": "first", "session_id": "demo-1"])
            #expect(created.status == 201, "\(created.text)")
            let session = try #require(created.object)
            #expect(session["session_id"] as? String == "demo-1")
            #expect(session["agent"] as? String == "echo")
            #expect(session["title"] as? String == "first")
            #expect(session["status"] as? String == "idle")
            let workdir = try #require(session["workdir"] as? String)
            #expect(FileManager.default.fileExists(atPath: workdir))

            let fetched = try await test.client.send("GET", "/sessions/demo-1")
            #expect(fetched.status == 200)
            #expect(fetched.object?["title"] as? String == "first")

            let renamed = try await test.client.send("PUT", "/sessions/demo-1", json: ["title": "renamed"])
            #expect(renamed.status == 200, "\(renamed.text)")
            #expect(renamed.object?["title"] as? String == "renamed")
            #expect(try await test.client.send("GET", "/sessions/demo-1").object?["title"] as? String == "renamed")

            let paused = try await test.client.send("POST", "/sessions/demo-1/pause")
            #expect(paused.object?["status"] as? String == "paused", "\(paused.text)")
            let resumed = try await test.client.send("POST", "/sessions/demo-1/resume")
            #expect(resumed.object?["status"] as? String == "idle", "\(resumed.text)")
            let cancelled = try await test.client.send("POST", "/sessions/demo-1/cancel")
            #expect(cancelled.status == 200)
            #expect((cancelled.object?["cancelled"] as? [Any])?.isEmpty == true, "\(cancelled.text)")

            let reply = try await test.client.send("POST", "/sessions/demo-1/message", json: ["message": "keep me"])
            #expect(reply.status == 200, "\(reply.text)")

            let ended = try await test.client.send("DELETE", "/sessions/demo-1")
            #expect(ended.status == 200, "\(ended.text)")
            #expect(ended.object?["status"] as? String == "ended")
            #expect(!FileManager.default.fileExists(atPath: workdir), "the workspace of an ended session is still there")
            let history = try await test.client.send("GET", "/sessions/demo-1/messages")
            #expect(history.array?.map { $0["content"] as? String } == ["keep me", "echo: keep me"], "\(history.text)")

            // An ended session: every state change is a conflict, its history stays readable.
            for (method, path) in [
                ("DELETE", "/sessions/demo-1"), ("POST", "/sessions/demo-1/pause"), ("POST", "/sessions/demo-1/resume"),
                ("POST", "/sessions/demo-1/cancel"),
            ] {
                let response = try await test.client.send(method, path)
                #expect(response.status == 409, "\(method) \(path): \(response.status) \(response.text)")
                #expect(response.errorType == "session_closed", "\(method) \(path): \(response.text)")
            }
            for path in ["/sessions/demo-1/message", "/sessions/demo-1/message/stream"] {
                let response = try await test.client.send("POST", path, json: ["message": "anyone?"])
                #expect(response.status == 409, "POST \(path): \(response.status) \(response.text)")
                #expect(response.errorType == "session_closed")
            }
            #expect(try await test.client.send("GET", "/sessions/demo-1/messages").array?.count == 2)
        }

        @Test func refusalsHaveTheirStatus() async throws {
            let test = try SessionTestHome()
            _ = try await test.createSession(["agent": "echo", "session_id": "taken"])

            let unknownAgent = try await test.client.send("POST", "/sessions", json: ["agent": "nobody"])
            #expect(unknownAgent.status == 404)
            #expect(unknownAgent.errorType == "unknown_agent")
            let badName = try await test.client.send("POST", "/sessions", json: ["agent": "echo", "session_id": "../escape"])
            #expect(badName.status == 400, "\(badName.text)")
            let taken = try await test.client.send("POST", "/sessions", json: ["agent": "echo", "session_id": "taken"])
            #expect(taken.status == 409, "\(taken.text)")
            #expect(taken.errorType == "already_exists")
            let noAgent = try await test.client.send("POST", "/sessions", json: ["title": "x"])
            #expect(noAgent.status == 400)
            #expect(noAgent.text.contains("agent"))

            for (method, path) in [
                ("GET", "/sessions/ses_nothing"), ("PUT", "/sessions/ses_nothing"), ("DELETE", "/sessions/ses_nothing"),
                ("POST", "/sessions/ses_nothing/pause"), ("GET", "/sessions/ses_nothing/messages"),
                ("POST", "/sessions/ses_nothing/message"), ("POST", "/sessions/ses_nothing/message/stream"),
                // A prefix of an existing ID is not that session.
                ("GET", "/sessions/tak"),
            ] {
                let response = try await test.client.send(method, path, json: ["title": "t", "message": "hi"])
                #expect(response.status == 404, "\(method) \(path): \(response.status) \(response.text)")
                #expect(response.errorType == "not_found")
            }

            let badJSON = try await test.client.send(
                "POST", "/sessions/taken/message", body: Data("{\"message\": ".utf8), contentType: "application/json")
            #expect(badJSON.status == 400)
            #expect(badJSON.errorType == "invalid_json")
            let empty = try await test.client.send("POST", "/sessions/taken/message", json: ["message": ""])
            #expect(empty.status == 400, "\(empty.text)")
            let missing = try await test.client.send("POST", "/sessions/taken/message", json: ["text": "hi"])
            #expect(missing.status == 400)
            #expect(missing.text.contains("\\\"message\\\" is required"), "\(missing.text)")
            let notString = try await test.client.send("POST", "/sessions/taken/message/stream", json: ["message": 42])
            #expect(notString.status == 400)
            let huge = String(repeating: "x", count: (1 << 20) + 10)
            let tooLarge = try await test.client.send("POST", "/sessions/taken/message", json: ["message": huge])
            #expect(tooLarge.status == 413)
            #expect(tooLarge.errorType == "body_too_large")
            let noTitle = try await test.client.send("PUT", "/sessions/taken", json: ["name": "x"])
            #expect(noTitle.status == 400)
            // None of the refused messages became a turn.
            #expect(try await test.client.send("GET", "/sessions/taken/messages").array?.isEmpty == true)

            for query in ["status=sleeping", "limit=0", "limit=1001", "limit=ten", "after=ses_nothing"] {
                let response = try await test.client.send("GET", "/sessions?\(query)")
                #expect(response.status == 400, "GET /sessions?\(query): \(response.status) \(response.text)")
            }
        }

        @Test func workDirMustBeAnExistingDirectoryOutsideTheHome() async throws {
            let test = try SessionTestHome()
            let project = test.files.url.appendingPathComponent("project").path
            try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
            let created = try await test.client.send("POST", "/sessions", json: ["agent": "echo", "work_dir": project])
            #expect(created.status == 201, "\(created.text)")
            #expect(created.object?["workdir"] as? String == URL(fileURLWithPath: project).resolvingSymlinksInPath().path)

            let missing = test.files.url.appendingPathComponent("not-there").path
            for workDir in [missing, "relative/dir", test.home.path, test.home.path + "/workspaces"] {
                let response = try await test.client.send("POST", "/sessions", json: ["agent": "echo", "work_dir": workDir])
                #expect(response.status == 400, "work_dir \(workDir): \(response.status) \(response.text)")
                #expect(response.text.contains("work_dir"))
            }
            #expect(!FileManager.default.fileExists(atPath: missing), "the server created a directory a client named")
        }

        @Test func listingPagesThroughEverySessionOnceInAStableOrder() async throws {
            let test = try SessionTestHome()
            try test.addAgent(["name": "other", "provider": "echo"])
            var ids: [String] = []
            for index in 0..<7 {
                ids.append(try await test.createSession(["agent": index % 2 == 0 ? "echo" : "other", "title": "s\(index)"]))
                // Creation times a millisecond apart, so the expected order is the creation order
                // (sessions made in the same millisecond are ordered by ID).
                try await Task.sleep(for: .milliseconds(3))
            }
            _ = try await test.client.send("POST", "/sessions/\(ids[0])/pause")

            var seen: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let path = "/sessions?limit=3" + (after.map { "&after=\($0)" } ?? "")
                let page = try #require(try await test.client.send("GET", path).array)
                // Activity in between must not move sessions between pages.
                if pages == 0 {
                    #expect(try await test.client.send("POST", "/sessions/\(ids[6])/message", json: ["message": "bump"]).status == 200)
                }
                seen += page.compactMap { $0["session_id"] as? String }
                after = page.count == 3 ? seen.last : nil
                pages += 1
            } while after != nil && pages < 10
            #expect(seen == ids.reversed(), "newest created first, each once: \(seen)")
            #expect(pages == 3)

            let others = try #require(try await test.client.send("GET", "/sessions?agent=other").array)
            #expect(Set(others.compactMap { $0["session_id"] as? String }) == Set([ids[1], ids[3], ids[5]]))
            let paused = try #require(try await test.client.send("GET", "/sessions?status=paused").array)
            #expect(paused.compactMap { $0["session_id"] as? String } == [ids[0]])
            let defaultPage = try #require(try await test.client.send("GET", "/sessions").array)
            #expect(defaultPage.count == 7)
        }

        @Test func aMessageAnswersWithTheTurnAndAFailedTurnSaysSo() async throws {
            let test = try SessionTestHome()
            try test.addAgent(["name": "broken", "provider": "echo", "options": ["fail_permanently": true]])
            let id = try await test.createSession(["agent": "echo"])
            let reply = try await test.client.send("POST", "/sessions/\(id)/message", json: ["message": "hello there"])
            #expect(reply.status == 200, "\(reply.text)")
            let object = try #require(reply.object)
            #expect(object["response"] as? String == "echo: hello there")
            #expect(object["status"] as? String == "succeeded")
            #expect(object["steps"] as? Int == 1)
            #expect((object["usage"] as? [String: Any])?["output_tokens"] as? Int == 3)
            #expect((object["tool_calls"] as? [Any])?.isEmpty == true)
            let jobID = try #require(object["job_id"] as? String)
            let messages = try #require(try await test.client.send("GET", "/sessions/\(id)/messages").array)
            #expect(messages.map { $0["job_id"] as? String } == [jobID, jobID])
            #expect(messages.map { $0["role"] as? String } == ["user", "assistant"])

            let broken = try await test.createSession(["agent": "broken"])
            let failed = try await test.client.send("POST", "/sessions/\(broken)/message", json: ["message": "hi"])
            #expect(failed.status == 200, "\(failed.text)")
            #expect(failed.object?["status"] as? String == "failed")
            #expect(failed.object?["response"] is NSNull)
            let error = try #require(failed.object?["error"] as? [String: Any], "\(failed.text)")
            #expect(error["type"] as? String == "invalid_request")
            #expect((error["message"] as? String)?.contains("fail_permanently") == true)
            #expect(try await test.client.send("GET", "/sessions/\(broken)").object?["status"] as? String == "error")
        }

        @Test func aMessageToAPausedSessionIsAcceptedAndWaits() async throws {
            let test = try SessionTestHome()
            let id = try await test.createSession(["agent": "echo"])
            _ = try await test.client.send("POST", "/sessions/\(id)/pause")
            let reply = try await test.client.send("POST", "/sessions/\(id)/message", json: ["message": "later"])
            #expect(reply.status == 202, "\(reply.text)")
            #expect(reply.object?["status"] as? String == "queued")
            let jobID = try #require(reply.object?["job_id"] as? String)
            #expect(try test.job(jobID)["status"] as? String == "queued")
            _ = try await test.client.send("POST", "/sessions/\(id)/resume")
            let ran = try await eventually(within: 30) { try test.job(jobID)["status"] as? String == "succeeded" }
            #expect(ran, "the turn did not run after resume: \((try? test.job(jobID)) ?? [:])")
        }

        @Test func sixtyFourSessionsMessagedAtOnceEachGetTheirOwnAnswer() async throws {
            let test = try SessionTestHome()
            try test.addAgent(["name": "slow", "provider": "echo", "options": ["latency_ms": 200]])
            var ids: [String] = []
            for _ in 0..<64 { ids.append(try await test.createSession(["agent": "slow"])) }
            let client = test.client
            let replies = try await withThrowingTaskGroup(of: (Int, APIResponse).self) { group in
                for (index, id) in ids.enumerated() {
                    group.addTask {
                        (index, try await client.send("POST", "/sessions/\(id)/message", json: ["message": "question \(index)"]))
                    }
                }
                var replies: [Int: APIResponse] = [:]
                for try await (index, reply) in group { replies[index] = reply }
                return replies
            }
            for (index, id) in ids.enumerated() {
                let reply = try #require(replies[index])
                #expect(reply.status == 200, "session \(index): \(reply.status) \(reply.text)")
                #expect(reply.object?["response"] as? String == "echo: question \(index)", "session \(index): \(reply.text)")
                let messages = try #require(try await client.send("GET", "/sessions/\(id)/messages").array)
                #expect(messages.map { $0["content"] as? String } == ["question \(index)", "echo: question \(index)"])
                #expect(Set(messages.compactMap { $0["job_id"] as? String }) == [reply.object?["job_id"] as? String])
            }
        }
    }
}
