import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// `agentq serve` itself: starting, health, auth, the error document, refusing to be exposed.
    @Suite struct ServeTests {
        @Test func healthzAnswersAndUnknownPathsGetAJSON404() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-serve")
            defer { home.remove() }
            let server = try ServerProcess.start(home: home.url.path)
            let client = APIClient(baseURL: server.baseURL)
            let health = try await client.send("GET", "/healthz")
            #expect(health.status == 200)
            #expect(health.object?["status"] as? String == "ok")
            let missing = try await client.send("GET", "/no/such/endpoint")
            #expect(missing.status == 404)
            #expect(missing.errorType == "not_found")
            let output = server.stop()
            #expect(output.exitCode == 0, "serve exited \(output.exitCode): \(output.stderr)")
        }

        @Test func aTokenIsRequiredEverywhereButHealthz() async throws {
            let home = try TemporaryDirectory(prefix: "agentq-serve")
            defer { home.remove() }
            let token = "s3cret-token-\(UUID().uuidString)"
            let server = try ServerProcess.start(home: home.url.path, environment: ["AGENTQ_API_TOKEN": token])
            defer { server.stop() }
            let anonymous = APIClient(baseURL: server.baseURL)
            #expect(try await anonymous.send("GET", "/healthz").status == 200)
            for path in ["/sessions", "/jobs", "/batches", "/agents", "/metrics", "/v1/batches"] {
                let response = try await anonymous.send("GET", path)
                #expect(response.status == 401, "GET \(path) without a token: \(response.status)")
                #expect(response.errorType == "unauthorized")
                #expect(!response.text.contains(token))
            }
            let wrong = APIClient(baseURL: server.baseURL, token: token + "x")
            #expect(try await wrong.send("GET", "/agents").status == 401)
            let prefix = APIClient(baseURL: server.baseURL, token: String(token.dropLast()))
            #expect(try await prefix.send("GET", "/agents").status == 401)
            let right = APIClient(baseURL: server.baseURL, token: token)
            let missing = try await right.send("GET", "/no/such/endpoint")
            #expect(missing.status == 404)
        }

        @Test func aNonLoopbackAddressWithoutATokenRefusesToStart() throws {
            let home = try TemporaryDirectory(prefix: "agentq-serve")
            defer { home.remove() }
            let output = try AgentQProcess.run(["serve", "--host", "0.0.0.0", "--port", "0"], home: home.url.path)
            #expect(output.exitCode != 0)
            #expect(output.stderr.contains("AGENTQ_API_TOKEN"), "\(output.stderr)")
        }
    }
}
