import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// The shared rate-limit state through two connections to one database, as two worker
/// processes (SQLite) or two hosts (PostgreSQL) would hold them, from one source for both drivers.
@Suite("Rate limits shared through the database")
struct RateLimitStoreTests {
    let endpoint = "http://127.0.0.1:9/v1"

    /// Two views of one new database.
    static func hosts(_ driver: StoreDriver) throws -> (ProductStores, ProductStores) {
        let first = try ProductStores(driver)
        return (first, try first.secondHost())
    }

    @Test("a closure written by one connection is seen by the other, and never shortened", arguments: StoreDriver.allCases)
    func closure(_ driver: StoreDriver) throws {
        let (a, b) = try Self.hosts(driver)
        defer { b.remove(); a.remove() }
        let (first, second) = (a.rateLimits, b.rateLimits)
        let now = Timestamp(milliseconds: 1_000_000)
        #expect(try second.closedUntil(endpoint: endpoint, now: now) == nil)
        try first.close(endpoint: endpoint, until: now.adding(milliseconds: 3000))
        try second.close(endpoint: endpoint, until: now.adding(milliseconds: 1000))
        #expect(a.same(try second.closedUntil(endpoint: endpoint, now: now), now.adding(milliseconds: 3000)))
        #expect(a.same(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: nil, now: now),
                       now.adding(milliseconds: 3000)))
        #expect(try first.closedUntil(endpoint: endpoint, now: now.adding(milliseconds: 3000 + a.clockSlack)) == nil)
        #expect(try first.closedUntil(endpoint: "http://127.0.0.1:9/other", now: now) == nil)
    }

    @Test("requests per minute are one budget over both connections, freed as the window slides", arguments: StoreDriver.allCases)
    func requestBudget(_ driver: StoreDriver) throws {
        let (a, b) = try Self.hosts(driver)
        defer { b.remove(); a.remove() }
        let (first, second) = (a.rateLimits, b.rateLimits)
        // A second between calls: wider than two hosts' disagreement on the database's clock.
        let start = Timestamp(milliseconds: 5_000_000)
        #expect(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start) == nil)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 1000)) == nil)
        #expect(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 2000)) == nil)
        // Full: the next place frees when the oldest call leaves the minute.
        #expect(a.same(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 3000)),
                       start.adding(milliseconds: 60_000)))
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 60_500)) == nil)
        #expect(a.same(try first.reserveCall(endpoint: endpoint, requestsPerMinute: 3, tokensPerMinute: nil, now: start.adding(milliseconds: 60_600)),
                       start.adding(milliseconds: 61_000)))
    }

    @Test("tokens recorded by one connection count against the other's tokens per minute", arguments: StoreDriver.allCases)
    func tokenBudget(_ driver: StoreDriver) throws {
        let (a, b) = try Self.hosts(driver)
        defer { b.remove(); a.remove() }
        let (first, second) = (a.rateLimits, b.rateLimits)
        let start = Timestamp(milliseconds: 9_000_000)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start) == nil)
        try first.recordTokens(60, endpoint: endpoint, now: start)
        #expect(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start.adding(milliseconds: 500)) == nil)
        try first.recordTokens(40, endpoint: endpoint, now: start.adding(milliseconds: 500))
        #expect(a.same(try second.reserveCall(endpoint: endpoint, requestsPerMinute: nil, tokensPerMinute: 100, now: start.adding(milliseconds: 1000)),
                       start.adding(milliseconds: 60_000)))
    }

    /// The attack on a check-then-count without a lock: many threads on two hosts ask for
    /// places at the same instant; each sees a count below the budget unless the check and
    /// the count are one step, and then more calls than the budget go out.
    @Test("two hosts reserving at once never take more places than the budget", arguments: StoreDriver.allCases)
    func concurrentReservations(_ driver: StoreDriver) throws {
        let (a, b) = try Self.hosts(driver)
        defer { b.remove(); a.remove() }
        let now = Timestamp.now
        let budget = 20
        let granted = Counter()
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 12) { worker in
            let limits = worker % 2 == 0 ? a.rateLimits : b.rateLimits
            for _ in 0..<10 {
                do {
                    if try limits.reserveCall(endpoint: endpoint, requestsPerMinute: budget, tokensPerMinute: nil, now: now) == nil {
                        granted.increment()
                    }
                } catch {
                    failures.increment()
                }
            }
        }
        #expect(failures.value == 0)
        #expect(granted.value == budget)
    }

    @Test("the endpoint key keeps no user, password, query or fragment")
    func endpointKeyHasNoSecrets() {
        #expect(RateLimitGate.endpointKey("https://user:sk-secret@API.Example.com:8443/v1/?key=sk-other#frag")
            == "https://api.example.com:8443/v1")
        #expect(RateLimitGate.endpointKey("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1")
        #expect(RateLimitGate.forEndpoint("https://api.example.com/v1?api_key=sk-x").endpoint == "https://api.example.com/v1")
    }
}
