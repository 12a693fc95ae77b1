import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Enqueued jobs read back as written")
struct EnqueueRoundTripTests {
    /// Jobs whose fields cover what a writer can get wrong: NULL against the empty string,
    /// text of every length (empty, one byte, inline-sized, large), characters outside ASCII,
    /// negative and extreme numbers, a run time with milliseconds and none at all.
    static func jobs(_ count: Int) -> [NewJob] {
        (0..<count).map { index in
            let input: String
            switch index % 6 {
            case 0: input = ""
            case 1: input = "x"
            case 2: input = "naïve 🚀 é\u{301} \(index)"
            case 3: input = String(repeating: "long \(index) ", count: index == 3 ? 20_000 : 40)
            case 4: input = #"{"quote": "\"", "backslash": "\\", "nul": "\u0000"}"#
            default: input = "line \(index)\nsecond line\ttab"
            }
            return NewJob(
                customID: index % 4 == 0 ? nil : index % 4 == 1 ? "" : "row-\(index)",
                lane: index % 7 == 0 ? "lane-\(index % 3)" : nil,
                handler: index % 2 == 0 ? "h" : "handler-\(index % 5)",
                input: input,
                metadata: index % 3 == 0 ? nil : index % 3 == 1 ? "" : #"{"k": \#(index)}"#,
                priority: index % 5 == 0 ? -7 : index % 5 == 1 ? Int(Int32.max) + 1 : index,
                runAt: index % 2 == 0 ? nil : Timestamp(milliseconds: 1_700_000_000_123 + Int64(index)),
                maxAttempts: 1 + index % 9,
                options: index % 4 == 2 ? #"{"model": "m-\#(index)"}"# : nil)
        }
    }

    @Test("every field, through one transaction and through a staged bulk load",
          arguments: StoreDriver.allCases, [5, SQLiteJobStore.rowsPerTransaction + 70])
    func fieldsRoundTrip(_ driver: StoreDriver, count: Int) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let jobs = Self.jobs(count)
        let before = Timestamp.now
        var ids: [String] = []
        let summary = try test.store.enqueue(batch: NewBatch(source: "round-trip")) { inserter in
            for job in jobs { ids.append(try inserter.insert(job)) }
        }
        #expect(summary.count == count)
        #expect(Set(ids).count == count)
        for (index, job) in jobs.enumerated() {
            let read = try #require(try test.store.job(id: ids[index]), "job \(index) (\(ids[index])) is missing")
            #expect(read.batchID == summary.batchID)
            #expect(read.status == .queued)
            #expect(read.customID == job.customID, "custom_id of job \(index)")
            #expect(read.lane == job.lane, "lane of job \(index)")
            #expect(read.handler == job.handler, "handler of job \(index)")
            #expect(read.input == job.input, "input of job \(index)")
            #expect(read.metadata == job.metadata, "metadata of job \(index)")
            #expect(read.priority == job.priority, "priority of job \(index)")
            #expect(read.maxAttempts == job.maxAttempts, "max_attempts of job \(index)")
            #expect(read.options == job.options, "options of job \(index)")
            if let runAt = job.runAt {
                #expect(read.runAt == runAt, "run_at of job \(index)")
            } else {
                #expect(read.runAt >= before && read.runAt == read.createdAt, "run_at of job \(index)")
            }
        }
    }
}
