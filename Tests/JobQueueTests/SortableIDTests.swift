import Foundation
import JobQueue
import Testing

@Suite("SortableID")
struct SortableIDTests {
    static let alphabet = Set("0123456789abcdefghjkmnpqrstvwxyz")

    @Test("strictly increasing and unique across 100,000 calls, prefix kept, 26 characters after it")
    func increasing() {
        let count = 100_000
        var ids: [String] = []
        ids.reserveCapacity(count)
        for _ in 0..<count { ids.append(SortableID.make(prefix: "job_")) }

        var outOfOrder = 0
        for index in 1..<count where !(ids[index - 1] < ids[index]) { outOfOrder += 1 }
        #expect(outOfOrder == 0)
        #expect(Set(ids).count == count)
        #expect(ids.allSatisfy { $0.hasPrefix("job_") })
        #expect(ids.allSatisfy { $0.count == 4 + 26 && $0.utf8.count == 4 + 26 })
        #expect(ids.allSatisfy { $0.dropFirst(4).allSatisfy(Self.alphabet.contains) })
    }

    @Test("other prefixes, including an empty one")
    func prefixes() {
        let a = SortableID.make(prefix: "bat_")
        let b = SortableID.make(prefix: "")
        let c = SortableID.make(prefix: "wrk-long-prefix:")
        #expect(a.hasPrefix("bat_") && a.count == 30)
        #expect(b.count == 26)
        #expect(c.hasPrefix("wrk-long-prefix:") && c.count == 16 + 26)
        // The generator is process-wide: later IDs sort after earlier ones whatever their prefix.
        #expect(String(a.dropFirst(4)) < b)
        #expect(b < String(c.dropFirst(16)))
    }

    @Test("the first ten characters encode the creation time")
    func timePrefix() throws {
        let before = Timestamp.now.milliseconds
        let id = SortableID().next(prefix: "")
        let after = Timestamp.now.milliseconds
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
        var millis: Int64 = 0
        for character in id.prefix(10) {
            let digit = try #require(alphabet.firstIndex(of: character))
            millis = millis * 32 + Int64(digit)
        }
        #expect(millis >= before)
        #expect(millis <= after)
    }

    @Test("increasing from many threads at once, on one generator")
    func concurrent() {
        let generator = SortableID()
        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var perThread: [[String]] = Array(repeating: [], count: 4)
        }
        let collected = Collected()
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            var mine: [String] = []
            for _ in 0..<10_000 { mine.append(generator.next(prefix: "x")) }
            collected.lock.lock()
            collected.perThread[index] = mine
            collected.lock.unlock()
        }
        let all = collected.perThread.flatMap { $0 }
        #expect(Set(all).count == 40_000)
        for list in collected.perThread {
            #expect(zip(list, list.dropFirst()).allSatisfy { $0 < $1 })
        }
    }
}
