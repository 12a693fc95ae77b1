import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// Stopping the consumer of a turn stops the turn: its job ends `cancelled`, as with `jobs cancel`.
@Suite("Stopping a stream")
struct StreamCancellationTests {
    /// A home with an echo agent that takes 120 s to answer (a cancel cuts it short).
    static func slowSession() throws -> (TestQueue, Session) {
        let test = try TestQueue()
        _ = try test.queue.agents.save(AgentDefinition(
            name: "slow", provider: "echo", model: "echo", options: ["latency_ms": .number(120_000)]))
        return (test, try Session(agent: "slow", queue: test.queue))
    }

    /// The session's only job, once it exists.
    static func turnJob(_ test: TestQueue, _ session: Session) throws -> Job? {
        try test.store.jobs(matching: JobFilter(lane: session.id)).first
    }

    /// Polls `condition` until it holds or `seconds` pass, suspending rather than blocking, so
    /// the tasks under test get the cooperative threads.
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        return try condition()
    }

    /// Deadlines are generous: the machine may be loaded.
    static let deadline: Double = 90

    /// Threads of these tests' own: the tests and the tasks they start run here, not on Swift's
    /// two cooperative threads, which the suite's blocking tests can hold for minutes (a clean
    /// CI run once starved the consuming task past the deadline before it had sent its turn).
    static let executor = WorkerThreads(count: 2, label: "test.stream-cancellation")

    /// Waits until the turn's job has ended, which must be `cancelled` (uncancelled, it would
    /// take 120 s).
    static func expectCancelled(_ test: TestQueue, _ session: Session) async throws {
        let ended = try await eventually(within: deadline) { try turnJob(test, session)?.status.isFinished == true }
        let job = try turnJob(test, session)
        #expect(ended && job?.status == .cancelled, "job: \(String(describing: job))")
    }

    @Test("cancelling the task that consumes runStream cancels the turn's job")
    func cancellingTheConsumerCancelsTheJob() async throws {
        try await withTaskExecutorPreference(Self.executor) {
            let (test, session) = try Self.slowSession()
            defer { test.remove() }
            let consumer = Task(executorPreference: Self.executor) {
                for try await _ in session.runStream("take your time") {}
            }
            try #require(try await Self.eventually(within: Self.deadline) { try Self.turnJob(test, session)?.status == .running })
            consumer.cancel()
            try await Self.expectCancelled(test, session)
            _ = await consumer.result
        }
    }

    @Test("dropping the stream without reading it cancels the turn's job")
    func droppingTheStreamCancelsTheJob() async throws {
        try await withTaskExecutorPreference(Self.executor) {
            let (test, session) = try Self.slowSession()
            defer { test.remove() }
            do {
                let stream = session.runStream("nobody listens")
                _ = stream
            }
            try #require(try await Self.eventually(within: Self.deadline) { try Self.turnJob(test, session) != nil })
            try await Self.expectCancelled(test, session)
        }
    }

    @Test("cancelling the task awaiting run cancels the turn and throws CancellationError")
    func cancellingRunCancelsTheJob() async throws {
        try await withTaskExecutorPreference(Self.executor) {
            let (test, session) = try Self.slowSession()
            defer { test.remove() }
            let caller = Task(executorPreference: Self.executor) { try await session.run("take your time") }
            try #require(try await Self.eventually(within: Self.deadline) { try Self.turnJob(test, session)?.status == .running })
            caller.cancel()
            try await Self.expectCancelled(test, session)
            let result = await caller.result
            #expect(throws: CancellationError.self) { try result.get() }
        }
    }
}
