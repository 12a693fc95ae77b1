import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// The shared rate-limit state through two connections to one database file, as two worker
/// processes would hold them.
@Suite("Rate limits shared through the database")
struct RateLimitStoreTests {
    let directory: TemporaryDirectory
    let first: SQLiteRateLimitStore
    let second: SQLiteRateLimitStore
    let endpoint = "http://127.0.0.1:9/v1"

    init() throws {
        directory = try TemporaryDirectory(prefix: "agentq-ratelimits")
        let path = directory.url.appendingPathComponent("agentq.db").path
        first = SQLiteRateLimitStore(database: try SQLiteDatabase(path: path, migrations: AgentQueue.migrations))
        second = SQLiteRateLimitStore(database: try SQLiteDatabase(path: path, migrations: AgentQueue.migrations))
    }

    @Test("a closure written by one connection is seen by the other, and never shortened")
    func closure() throws {
        defer { directory.remove() }
        let now = Timestamp(milliseconds: 1_000_000)
        #expect(try second.closedUntil(endpoint: endpoint, now: now) == nil)
        try first.close(endpoint: endpoint, until: now.adding(milliseconds: 3000))
        try second.close(endpoint: endpoint, until: now.adding(milliseconds: 1000))
        #expect(try second.closedUntil(endpoint: endpoint, now: now) == now.adding(milliseconds: 3000))
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: nil, now: now)
            == now.adding(milliseconds: 3000))
        #expect(try first.closedUntil(endpoint: endpoint, now: now.adding(milliseconds: 3000)) == nil)
        #expect(try first.closedUntil(endpoint: "http://127.0.0.1:9/other", now: now) == nil)
    }

    @Test("requests per minute are one budget over both connections, freed as the window slides")
    func requestBudget() throws {
        defer { directory.remove() }
        let start = Timestamp(milliseconds: 5_000_000)
        #expect(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start) == nil)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 10)) == nil)
        #expect(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 20)) == nil)
        // Full: the next place frees when the oldest call leaves the minute.
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 30))
            == start.adding(milliseconds: 60_000))
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 60_000)) == nil)
        #expect(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 60_001))
            == start.adding(milliseconds: 60_010))
    }

    @Test("tokens recorded by one connection count against the other's tokens per minute")
    func tokenBudget() throws {
        defer { directory.remove() }
        let start = Timestamp(milliseconds: 9_000_000)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start) == nil)
        try first.recordTokens(60, endpoint: endpoint, now: start)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start.adding(milliseconds: 5)) == nil)
        try first.recordTokens(40, endpoint: endpoint, now: start.adding(milliseconds: 5))
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start.adding(milliseconds: 6))
            == start.adding(milliseconds: 60_000))
    }

    @Test("the endpoint key keeps no user, password, query or fragment")
    func endpointKeyHasNoSecrets() {
        #expect(RateLimitGate.endpointKey("https://user:sk-secret@API.Example.com:8443/v1/?key=sk-other#frag")
            == "https://api.example.com:8443/v1")
        #expect(RateLimitGate.endpointKey("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1")
        #expect(RateLimitGate.forEndpoint("https://api.example.com/v1?api_key=sk-x").endpoint == "https://api.example.com/v1")
    }
}
