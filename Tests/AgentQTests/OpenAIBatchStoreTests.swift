import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("The OpenAI batch and file stores behave alike on SQLite and PostgreSQL")
struct OpenAIBatchStoreTests {
    /// 2031-01-01T00:00:00Z. PostgreSQL moves times onto its clock: the tests compare states,
    /// not exact times.
    static let start = Timestamp(milliseconds: 1_924_992_000_000)
    static let lease: Int64 = 60_000

    static func validating(_ id: String, jobsBatchID: String? = nil) -> OpenAIBatch {
        OpenAIBatch(
            id: id, inputFileID: "file-in", endpoint: "/v1/chat/completions", completionWindow: "24h", metadata: "{\"k\":\"v\"}",
            fallbackAgent: "echo", jobsBatchID: jobsBatchID, status: .validating, createdAt: start)
    }

    static func at(_ seconds: Int64) -> Timestamp { start.adding(milliseconds: seconds * 1000) }

    @Test("a batch goes validating, in_progress, finalizing (one finalizer at a time), completed", arguments: StoreDriver.allCases)
    func lifecycle(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let store = try fixture.openHost().batches
        try store.insert(Self.validating("batch_1"), leaseUntil: Self.at(3600))
        #expect(try store.unfinishedIDs().isEmpty)
        let rejected = [
            OpenAIRejectedLine(line: 3, customID: "q3", model: "gpt-x"), OpenAIRejectedLine(line: 1, customID: "q1", model: nil),
        ]
        #expect(try store.start(id: "batch_1", jobsBatchID: "bat_1", total: 3, rejected: rejected, now: Self.at(1)) == .inProgress)
        #expect(try store.rejectedLines(batchID: "batch_1") == rejected.reversed())
        let started = try #require(try store.batch(id: "batch_1"))
        #expect(started.status == .inProgress && started.jobsBatchID == "bat_1" && started.metadata == "{\"k\":\"v\"}")
        #expect(started.total == 3 && started.rejected == 2 && started.failed == 2 && started.inProgressAt != nil)
        #expect(try store.unfinishedIDs() == ["batch_1"])

        let claimed = try #require(try store.claimFinalization(id: "batch_1", now: Self.at(2), leaseMilliseconds: Self.lease))
        #expect(claimed.status == .finalizing && claimed.finalizingAt != nil)
        #expect(try store.claimFinalization(id: "batch_1", now: Self.at(3), leaseMilliseconds: Self.lease) == nil)
        // A finalizer that died: its lease runs out and another takes over.
        #expect(try store.claimFinalization(id: "batch_1", now: Self.at(200), leaseMilliseconds: Self.lease)?.status == .finalizing)
        #expect(try store.requestCancel(id: "batch_1", now: Self.at(201)) == false)

        try store.finish(id: "batch_1", outputFileID: "file-o", errorFileID: "file-e", completed: 1, failed: 2, now: Self.at(202))
        let done = try #require(try store.batch(id: "batch_1"))
        #expect(done.status == .completed && done.completedAt != nil && done.cancelledAt == nil)
        #expect(done.outputFileID == "file-o" && done.errorFileID == "file-e")
        #expect(done.total == 3 && done.completed == 1 && done.failed == 2)
        #expect(try store.unfinishedIDs().isEmpty)
        #expect(try store.claimFinalization(id: "batch_1", now: Self.at(999), leaseMilliseconds: Self.lease) == nil)
        #expect(try store.batch(id: "batch_nope") == nil)
    }

    @Test("a cancel wins over a start, and the batch ends cancelled, not completed", arguments: StoreDriver.allCases)
    func cancel(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let store = try fixture.openHost().batches
        try store.insert(Self.validating("batch_v"), leaseUntil: Self.at(3600))
        #expect(try store.requestCancel(id: "batch_v", now: Self.at(1)))
        #expect(try store.requestCancel(id: "batch_v", now: Self.at(2)) == false)
        #expect(try store.start(id: "batch_v", jobsBatchID: "bat_v", total: 1, rejected: [], now: Self.at(3)) == .cancelling)
        #expect(try store.claimFinalization(id: "batch_v", now: Self.at(4), leaseMilliseconds: Self.lease)?.status == .cancelling)
        try store.finish(id: "batch_v", outputFileID: nil, errorFileID: "file-e", completed: 0, failed: 1, now: Self.at(5))
        let cancelled = try #require(try store.batch(id: "batch_v"))
        #expect(cancelled.status == .cancelled && cancelled.cancelledAt != nil && cancelled.cancellingAt != nil)
        #expect(cancelled.completedAt == nil && cancelled.outputFileID == nil && cancelled.total == 1)

        try store.insert(Self.validating("batch_r"), leaseUntil: Self.at(3600))
        _ = try store.start(id: "batch_r", jobsBatchID: "bat_r", total: 2, rejected: [], now: Self.at(1))
        #expect(try store.requestCancel(id: "batch_r", now: Self.at(2)))
        #expect(try store.batch(id: "batch_r")?.status == .cancelling)
        #expect(try store.unfinishedIDs() == ["batch_r"])
    }

    @Test("a refused input fails with its errors; a validation whose creator died fails once its lease is out",
          arguments: StoreDriver.allCases)
    func failures(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let store = try fixture.openHost().batches
        try store.insert(Self.validating("batch_a"), leaseUntil: Self.at(3600))
        let errors = [
            OpenAIBatchLineError(code: "missing_custom_id", message: "\"custom_id\" is required", line: 2),
            OpenAIBatchLineError(code: "empty_file", message: "no requests"),
        ]
        try store.fail(id: "batch_a", errors: errors, now: Self.at(1))
        let failed = try #require(try store.batch(id: "batch_a"))
        #expect(failed.status == .failed && failed.errors == errors && failed.failedAt != nil)

        try store.insert(Self.validating("batch_dead", jobsBatchID: "bat_dead"), leaseUntil: Self.at(10))
        try store.insert(Self.validating("batch_live", jobsBatchID: "bat_live"), leaseUntil: Self.at(3600))
        #expect(try store.failAbandonedValidations(now: Self.at(60)) == ["bat_dead"])
        #expect(try store.batch(id: "batch_dead")?.errors.map(\.code) == ["validation_interrupted"])
        #expect(try store.batch(id: "batch_live")?.status == .validating)
        #expect(try store.failAbandonedValidations(now: Self.at(61)).isEmpty)
    }

    @Test("batches page newest first by ID, compared byte by byte", arguments: StoreDriver.allCases)
    func paging(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let store = try fixture.openHost().batches
        // '-' sorts before '_' byte by byte, after it in a locale that ignores punctuation.
        for id in ["batch_b", "batch-z", "batch_a", "batch_C"] { try store.insert(Self.validating(id), leaseUntil: Self.at(60)) }
        #expect(try store.batches(limit: 10).map(\.id) == ["batch_b", "batch_a", "batch_C", "batch-z"])
        #expect(try store.batches(limit: 2).map(\.id) == ["batch_b", "batch_a"])
        #expect(try store.batches(limit: 10, after: "batch_a").map(\.id) == ["batch_C", "batch-z"])
    }

    @Test("of six hosts claiming one batch's finalization at once, one gets it", arguments: StoreDriver.allCases)
    func oneFinalizerAmongHosts(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let hosts = try (0..<6).map { _ in try fixture.openHost().batches }
        for round in 0..<5 {
            let id = "batch_\(round)"
            try hosts[0].insert(Self.validating(id), leaseUntil: Self.at(3600))
            _ = try hosts[0].start(id: id, jobsBatchID: "bat_\(round)", total: 1, rejected: [], now: Self.at(1))
            let won = Counter()
            Racers.run(hosts) { _, host in
                if try host.claimFinalization(id: id, now: Self.at(2), leaseMilliseconds: Self.lease) != nil { won.increment() }
            }
            #expect(won.value == 1, "round \(round)")
        }
    }

    @Test("file metadata: recorded, replaced by ID, listed newest first by purpose, deleted once", arguments: StoreDriver.allCases)
    func fileMetadata(_ driver: StoreDriver) throws {
        let fixture = try OpenAIStoreFixture(driver)
        defer { fixture.remove() }
        let (_, metadata) = try fixture.openHost()
        let files = OpenAIFileStore(metadata: metadata, directory: fixture.filesDirectory)
        let upload = try files.makeTemporaryURL()
        try Data("{\"custom_id\":\"a\"}\n".utf8).write(to: upload)
        let input = try files.add(temporaryFile: upload, id: "file-a", filename: "in.jsonl", purpose: "batch")
        #expect(input.bytes == 18)
        #expect(try String(contentsOf: files.contentURL(id: "file-a"), encoding: .utf8) == "{\"custom_id\":\"a\"}\n")
        try metadata.record(OpenAIFile(id: "file-b", filename: "out.jsonl", purpose: "batch_output", bytes: 7, createdAt: Self.start))
        try metadata.record(OpenAIFile(id: "file-b", filename: "out.jsonl", purpose: "batch_output", bytes: 9, createdAt: Self.start))
        // Another host sees what this one recorded.
        let other = try fixture.openHost().files
        #expect(try other.file(id: "file-a")?.filename == "in.jsonl")
        #expect(try other.file(id: "file-b")?.bytes == 9)
        #expect(try other.files(purpose: nil, limit: 10, after: nil).map(\.id) == ["file-b", "file-a"])
        #expect(try other.files(purpose: "batch", limit: 10, after: nil).map(\.id) == ["file-a"])
        #expect(try other.files(purpose: nil, limit: 10, after: "file-b").map(\.id) == ["file-a"])
        #expect(try other.files(purpose: nil, limit: 1, after: nil).map(\.id) == ["file-b"])
        #expect(try files.delete(id: "file-a"))
        #expect(try files.delete(id: "file-a") == false)
        #expect(try other.file(id: "file-a") == nil)
        #expect(!FileManager.default.fileExists(atPath: files.contentURL(id: "file-a").path))
    }
}
