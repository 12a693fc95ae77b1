import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// ``SettingsStore`` behaves the same on every driver, and its claim gives one winner per
/// interval among hosts claiming at once.
@Suite("Settings store conformance")
struct SettingsStoreConformanceTests {
    @Test("set, replace, list in key order, unset", arguments: StoreDriver.allCases)
    func setListUnset(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let settings = stores.settings
        #expect(try settings.value("retention.finished") == nil)
        try settings.set("retention.finished", "14d")
        try settings.set("retention.finished", "7d")
        try settings.set("Retention.upper", "x")
        #expect(try settings.value("retention.finished") == "7d")
        #expect(try settings.all().map { "\($0.key)=\($0.value)" } == ["Retention.upper=x", "retention.finished=7d"])
        #expect(try settings.unset("retention.finished") == true)
        #expect(try settings.unset("retention.finished") == false)
        #expect(try settings.value("retention.finished") == nil)
    }

    @Test("a claim succeeds once per interval; a value that is no time counts as long ago", arguments: StoreDriver.allCases)
    func claim(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let settings = stores.settings
        let now = Timestamp(milliseconds: 1_700_000_000_000)
        #expect(try settings.claim("last_run", now: now, interval: 60_000) == true)
        #expect(try settings.claim("last_run", now: now.adding(milliseconds: 30_000), interval: 60_000) == false)
        #expect(try settings.claim("last_run", now: now.adding(milliseconds: 61_000), interval: 60_000) == true)
        try settings.set("garbled", "yesterday")
        #expect(try settings.claim("garbled", now: now, interval: 60_000) == true)
    }

    @Test("of many threads on two hosts claiming at once, exactly one wins", arguments: StoreDriver.allCases)
    func concurrentClaims(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        let other = try stores.secondHost()
        defer { other.remove(); stores.remove() }
        let now = Timestamp.now
        let wins = Counter()
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 12) { worker in
            let settings = worker % 2 == 0 ? stores.settings : other.settings
            do { if try settings.claim("retention_last_run_at", now: now, interval: 3_600_000) { wins.increment() } }
            catch { failures.increment() }
        }
        #expect(failures.value == 0)
        #expect(wins.value == 1)
    }
}
