import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Retention policy and closed sessions")
struct RetentionTests {
    static let day: Int64 = 86_400_000

    /// Ten echo jobs, finished and delivered two days before `now`.
    func addOldFinishedJobs(_ test: TestQueue, now: Timestamp) throws {
        _ = try test.store.enqueue(batch: NewBatch(source: "old")) { inserter in
            for index in 0..<10 { try inserter.insert(NewJob(handler: "echo", input: "\(index)")) }
        }
        try test.queue.sqliteDatabase!.write { db, _ in
            try db.execute(
                sql: "UPDATE jobs SET status = 'succeeded', finished_at = ?, delivery_pending = 0",
                arguments: [now.milliseconds - 2 * Self.day])
        }
    }

    @Test("the policy runs once an hour across several processes' connections, and not at all when unset")
    func policyRunsOncePerHour() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let now = Timestamp.now
        try addOldFinishedJobs(test, now: now)
        // Four connections to the home, as four worker processes have.
        let queues = try [test.queue] + (0..<3).map { _ in try AgentQueue(home: test.home) }
        let retentions = queues.map(Retention.init(queue:))
        #expect(try retentions[0].applyPolicyIfDue(now: now) == nil, "with no policy set, nothing may run")
        #expect(try test.store.summary().counts.succeeded == 10)

        try test.queue.settings.set(RetentionPolicy.Key.finished.rawValue, "1d")
        /// How many of the four, all asking at `at` from threads of their own, ran the policy.
        func runs(at: Timestamp) -> Int {
            let ran = Counter()
            DispatchQueue.concurrentPerform(iterations: retentions.count * 2) { index in
                if (try? retentions[index % retentions.count].applyPolicyIfDue(now: at)) != nil { ran.increment() }
            }
            return ran.value
        }
        #expect(runs(at: now) == 1)
        #expect(try test.store.summary().counts.succeeded == 0, "the run pruned nothing")
        #expect(runs(at: now.adding(milliseconds: 59 * 60_000)) == 0, "the policy ran again within the hour")
        #expect(runs(at: now.adding(milliseconds: 61 * 60_000)) == 1)
    }

    @Test("ended and timed-out sessions go with their history; open ones and recent ones stay")
    func closedSessionsArePruned() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let now = Timestamp.now, old = now.adding(milliseconds: -2 * Self.day)
        let statuses: [(String, SessionStatus, Timestamp)] = [
            ("ended-old", .ended, old), ("timeout-old", .timeout, old), ("idle-old", .idle, old),
            ("ended-new", .ended, now),
        ]
        for (id, status, at) in statuses {
            try test.queue.sessions.create(SessionRecord(
                id: id, agent: "echo", status: status, workdir: "/nonexistent", managedWorkdir: false, createdAt: at,
                lastActiveAt: at))
            for index in 0..<3 {
                try test.queue.sessions.append(
                    SessionMessage(jobID: nil, message: ChatMessage(role: .user, content: "m\(index)"), createdAt: at),
                    sessionID: id)
            }
        }
        let request = PruneRequest(sessionsEndedBefore: try RetentionAge(parsing: "1d", option: "test"))
        var dryRun = request
        dryRun.dryRun = true
        let dry = try Retention(queue: test.queue).prune(dryRun, now: now)
        #expect(try test.queue.sessions.countsByStatus().values.reduce(0, +) == 4, "a dry run deleted sessions")
        let report = try Retention(queue: test.queue).prune(request, now: now)
        #expect(report.sessions?.sessions == 2 && report.sessions?.messages == 6)
        #expect(dry.sessions?.sessions == 2 && dry.sessions?.messages == 6)
        for id in ["ended-old", "timeout-old"] {
            #expect(try test.queue.sessions.session(id: id) == nil)
            #expect(try test.queue.sessions.messages(sessionID: id, last: nil).isEmpty)
        }
        for id in ["idle-old", "ended-new"] {
            #expect(try test.queue.sessions.messages(sessionID: id, last: nil).count == 3, "\(id) lost its history")
        }
    }

    @Test("prune removes the temporary files and half-received uploads that a killed writer or server left, an hour after their last touch")
    func pruneSweepsAbandonedTemporaryResultFiles() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let results = test.queue.home.resultsDirectory
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        let stale = results.appendingPathComponent(".job_01STALE.k3j2h1.tmp")
        let fresh = results.appendingPathComponent(".job_01FRESH.a1b2c3.tmp")
        let result = results.appendingPathComponent("job_01KEEP.json")
        for url in [stale, fresh, result] { try Data("{\"partial\":".utf8).write(to: url) }
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        for url in [stale, result] {
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: url.path)
        }
        // Uploads to a server killed while receiving them.
        let uploads = test.queue.home.root.appendingPathComponent("uploads")
        let files = test.queue.home.root.appendingPathComponent("files")
        let staleUpload = uploads.appendingPathComponent("upload-a1b2c3.jsonl")
        let stalePartial = files.appendingPathComponent(".partial-1F2E3D")
        let keptFile = files.appendingPathComponent("file-abc.jsonl")
        for url in [staleUpload, stalePartial, keptFile] {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: url)
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: url.path)
        }
        let report = try Retention(queue: test.queue).prune(PruneRequest(sessionsEndedBefore: try RetentionAge(parsing: "1d", option: "test")))
        #expect(!FileManager.default.fileExists(atPath: staleUpload.path), "a half-received upload stayed")
        #expect(!FileManager.default.fileExists(atPath: stalePartial.path), "a half-received file stayed")
        #expect(FileManager.default.fileExists(atPath: keptFile.path), "an uploaded file was removed")
        #expect(!FileManager.default.fileExists(atPath: stale.path), "an abandoned temporary file stayed")
        #expect(FileManager.default.fileExists(atPath: fresh.path), "a write possibly in progress lost its file")
        #expect(FileManager.default.fileExists(atPath: result.path), "a result file was removed without being asked")
        #expect(report.resultFiles == 1)
    }
}
