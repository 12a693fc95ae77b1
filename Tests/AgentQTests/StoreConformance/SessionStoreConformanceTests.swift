import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// ``SessionStore`` behaves the same on every driver: records with their host, lookups by
/// prefix, lists and pages, status changes, the transcript with its numbering, idle expiry,
/// pruning and counts.
@Suite("Session store conformance")
struct SessionStoreConformanceTests {
    static let base = Timestamp(milliseconds: 1_700_000_000_000)

    static func record(_ id: String, agent: String = "echo", status: SessionStatus = .idle, createdAt: Int64 = 0,
                       lastActiveAt: Int64? = nil, host: String? = nil) -> SessionRecord {
        SessionRecord(
            id: id, agent: agent, status: status, workdir: "/tmp/\(id)", managedWorkdir: true,
            createdAt: base.adding(milliseconds: createdAt), lastActiveAt: base.adding(milliseconds: lastActiveAt ?? createdAt),
            host: host)
    }

    static func message(_ text: String, role: ChatMessage.Role = .user, at: Int64 = 0) -> SessionMessage {
        SessionMessage(jobID: "job_1", message: ChatMessage(role: role, content: text), createdAt: base.adding(milliseconds: at))
    }

    @Test("create stores every field, host included; a taken ID is alreadyExists", arguments: StoreDriver.allCases)
    func createAndRead(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        var session = Self.record("ses_one", host: "host-a")
        session.title = "first"
        try sessions.create(session)
        try sessions.create(Self.record("ses_two"))
        let read = try #require(try sessions.session(id: "ses_one"))
        #expect(read.host == "host-a")
        #expect(read.title == "first" && read.agent == "echo" && read.workdir == "/tmp/ses_one" && read.managedWorkdir)
        #expect(read.status == .idle && read.messageCount == 0)
        #expect(stores.same(read.createdAt, session.createdAt))
        #expect(try sessions.session(id: "ses_two")?.host == nil)
        #expect(try sessions.session(id: "ses_none") == nil)
        #expect(SessionDocument.json(for: read).contains("\"host\":\"host-a\""))
        #expect(!SessionDocument.json(for: try #require(try sessions.session(id: "ses_two"))).contains("\"host\""))
        let error = #expect(throws: AgentQError.self) { try sessions.create(Self.record("ses_one")) }
        #expect(error?.code == .alreadyExists)
    }

    @Test("prefix lookups, lists by agent and status, titles and guarded status changes", arguments: StoreDriver.allCases)
    func listsAndChanges(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        try sessions.create(Self.record("ses_ab1", createdAt: 0, lastActiveAt: 3000))
        try sessions.create(Self.record("ses_ab2", agent: "other", createdAt: 1000, lastActiveAt: 1000))
        try sessions.create(Self.record("ses_b", status: .ended, createdAt: 2000, lastActiveAt: 2000))
        #expect(try sessions.sessions(withPrefix: "ses_ab", limit: 10).map(\.id) == ["ses_ab1", "ses_ab2"])
        #expect(try sessions.sessions(withPrefix: "ses_ab", limit: 1).map(\.id) == ["ses_ab1"])
        #expect(try sessions.sessions(withPrefix: "ses_%", limit: 10).isEmpty)
        #expect(try sessions.sessions(agent: nil, status: nil).map(\.id) == ["ses_ab1", "ses_b", "ses_ab2"])
        #expect(try sessions.sessions(agent: "echo", status: nil).map(\.id) == ["ses_ab1", "ses_b"])
        #expect(try sessions.sessions(agent: "echo", status: .ended).map(\.id) == ["ses_b"])
        #expect(try sessions.setTitle("named", sessionID: "ses_b") == true)
        #expect(try sessions.session(id: "ses_b")?.title == "named")
        #expect(try sessions.setTitle(nil, sessionID: "ses_b") == true)
        #expect(try sessions.session(id: "ses_b")?.title == nil)
        #expect(try sessions.setTitle("x", sessionID: "ses_none") == false)
        #expect(try sessions.setStatus(.active, sessionID: "ses_b", from: [.idle, .error]) == false)
        #expect(try sessions.setStatus(.active, sessionID: "ses_ab1", from: [.idle, .error]) == true)
        #expect(try sessions.setStatus(.paused, sessionID: "ses_b", from: nil) == true)
        #expect(try sessions.countsByStatus() == [.active: 1, .idle: 1, .paused: 1])
    }

    @Test("pages run newest created first by a stable cursor; an unknown cursor is invalidInput", arguments: StoreDriver.allCases)
    func paging(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        for index in 0..<7 {
            try sessions.create(Self.record("ses_p\(index)", agent: index % 2 == 0 ? "echo" : "other", createdAt: Int64(index / 2) * 1000))
        }
        var seen: [String] = []
        var page = SessionPage(limit: 3)
        while true {
            let ids = try sessions.sessions(page: page).map(\.id)
            seen += ids
            if ids.count < 3 { break }
            page.after = ids.last
            // Activity does not move a session between pages.
            try sessions.append(Self.message("touch", at: 99_000), sessionID: "ses_p0")
        }
        #expect(seen == ["ses_p6", "ses_p5", "ses_p4", "ses_p3", "ses_p2", "ses_p1", "ses_p0"])
        #expect(try sessions.sessions(page: SessionPage(agent: "other", limit: 10)).map(\.id) == ["ses_p5", "ses_p3", "ses_p1"])
        let error = #expect(throws: AgentQError.self) { try sessions.sessions(page: SessionPage(after: "ses_gone", limit: 3)) }
        #expect(error?.code == .invalidInput)
    }

    @Test("appends number the transcript, keep every field, count and touch the session", arguments: StoreDriver.allCases)
    func transcript(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        try sessions.create(Self.record("ses_t"))
        try sessions.create(Self.record("ses_u"))
        #expect(try sessions.append(Self.message("hello"), sessionID: "ses_t").seq == 1)
        let call = ToolCall(id: "call_1", name: "bash", arguments: #"{"command":"ls"}"#)
        let assistant = SessionMessage(
            jobID: "job_1", message: ChatMessage(role: .assistant, content: "let me look", toolCalls: [call]),
            usage: TokenUsage(inputTokens: 11, outputTokens: 7, cachedInputTokens: 3, cacheWriteTokens: 2, reasoningTokens: 5, costUSD: 0.125),
            createdAt: Self.base.adding(milliseconds: 1000))
        #expect(try sessions.append(assistant, sessionID: "ses_t").seq == 2)
        let tool = SessionMessage(
            jobID: "job_1", message: ChatMessage(role: .tool, content: "a\nb", toolCallID: "call_1", toolName: "bash", isError: true),
            durationMilliseconds: 42, createdAt: Self.base.adding(milliseconds: 2000))
        #expect(try sessions.append(tool, sessionID: "ses_t").seq == 3)
        #expect(try sessions.append(Self.message("other"), sessionID: "ses_u").seq == 1)

        let all = try sessions.messages(sessionID: "ses_t", last: nil)
        #expect(all.map(\.seq) == [1, 2, 3])
        #expect(all[1].message == assistant.message && all[1].usage == assistant.usage && all[1].jobID == "job_1")
        #expect(all[2].message == tool.message && all[2].durationMilliseconds == 42 && all[0].durationMilliseconds == nil)
        #expect(stores.same(all[2].createdAt, tool.createdAt))
        #expect(try sessions.messages(sessionID: "ses_t", last: 2).map(\.seq) == [2, 3])
        #expect(try sessions.messages(sessionID: "ses_t", afterSeq: 1).map(\.seq) == [2, 3])
        #expect(try sessions.messages(sessionID: "ses_none", last: nil).isEmpty)
        let session = try #require(try sessions.session(id: "ses_t"))
        #expect(session.messageCount == 3)
        #expect(stores.same(session.lastActiveAt, tool.createdAt))
    }

    @Test("idle sessions past their timeout close, others stay", arguments: StoreDriver.allCases)
    func idleExpiry(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        try sessions.create(Self.record("ses_old", lastActiveAt: 0))
        try sessions.create(Self.record("ses_new", lastActiveAt: 50_000))
        try sessions.create(Self.record("ses_busy", status: .active, lastActiveAt: 0))
        try sessions.create(Self.record("ses_long", agent: "patient", lastActiveAt: 0))
        let expired = try sessions.expireIdleSessions(now: Self.base.adding(milliseconds: 70_000)) { agent in
            agent == "patient" ? 600_000 : 60_000
        }
        #expect(expired.map(\.id) == ["ses_old"])
        #expect(expired.first?.status == .timeout)
        #expect(try sessions.session(id: "ses_old")?.status == .timeout)
        #expect(try sessions.session(id: "ses_new")?.status == .idle)
        #expect(try sessions.session(id: "ses_long")?.status == .idle)
    }

    @Test("pruning removes closed sessions last active before the cutoff with their history; a dry run counts the same",
          arguments: StoreDriver.allCases)
    func prune(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        defer { stores.remove() }
        let sessions = stores.sessions
        try sessions.create(Self.record("ses_gone"))
        try sessions.create(Self.record("ses_timeout"))
        try sessions.create(Self.record("ses_recent"))
        try sessions.create(Self.record("ses_idle"))
        for index in 0..<5 { try sessions.append(Self.message("m\(index)", at: 1000), sessionID: "ses_gone") }
        try sessions.append(Self.message("t", at: 1000), sessionID: "ses_timeout")
        try sessions.append(Self.message("r", at: 90_000), sessionID: "ses_recent")
        try sessions.append(Self.message("i", at: 1000), sessionID: "ses_idle")
        try sessions.setStatus(.ended, sessionID: "ses_gone", from: nil)
        try sessions.setStatus(.timeout, sessionID: "ses_timeout", from: nil)
        try sessions.setStatus(.ended, sessionID: "ses_recent", from: nil)
        let cutoff = Self.base.adding(milliseconds: 30_000)
        let dry = try sessions.pruneClosedSessions(endedBefore: cutoff, dryRun: true)
        #expect(dry.sessions == 2 && dry.messages == 6 && dry.bytes > 0)
        #expect(try sessions.session(id: "ses_gone") != nil)
        let report = try sessions.pruneClosedSessions(endedBefore: cutoff, dryRun: false)
        #expect(report.sessions == 2 && report.messages == 6 && report.bytes == dry.bytes)
        #expect(try sessions.session(id: "ses_gone") == nil && sessions.session(id: "ses_timeout") == nil)
        #expect(try sessions.messages(sessionID: "ses_gone", last: nil).isEmpty)
        #expect(try sessions.messages(sessionID: "ses_recent", last: nil).count == 1)
        #expect(try sessions.countsByStatus() == [.ended: 1, .idle: 1])
    }

    /// The attack on numbering by `max(seq) + 1` without a lock: many threads on two hosts
    /// append to one session at once; unguarded, two read the same max and one append fails
    /// on the (session, seq) key or the numbers repeat.
    @Test("appends from many threads on two hosts number the messages 1…N with no duplicate or gap",
          arguments: StoreDriver.allCases)
    func concurrentAppends(_ driver: StoreDriver) throws {
        let stores = try ProductStores(driver)
        let other = try stores.secondHost()
        defer { other.remove(); stores.remove() }
        try stores.sessions.create(Self.record("ses_race"))
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 12) { worker in
            let sessions = worker % 2 == 0 ? stores.sessions : other.sessions
            for index in 0..<10 {
                do { try sessions.append(Self.message("w\(worker)-\(index)"), sessionID: "ses_race") } catch { failures.increment() }
            }
        }
        #expect(failures.value == 0)
        let messages = try stores.sessions.messages(sessionID: "ses_race", last: nil)
        #expect(messages.map(\.seq) == Array(1...(12 * 10 - failures.value)))
        #expect(Set(messages.map(\.message.content)).count == messages.count)
        #expect(try stores.sessions.session(id: "ses_race")?.messageCount == messages.count)
    }
}
