import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Retries")
struct RetryTests {
    @Test("retryable failures are retried until the job succeeds", arguments: StoreDriver.allCases)
    func retryUntilSuccess(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "flaky", input: "x", maxAttempts: 3)])
        let seen = Counter()
        let handler = ClosureHandler { job, _ in
            seen.increment()
            if job.attempts <= 2 {
                throw JobFailure(type: "flaky", message: "attempt \(job.attempts) failed", retryable: true)
            }
            return "{\"attempt\":\(job.attempts)}"
        }
        let sink = CollectingSink()
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: sink, options: fastOptions(mode: .drain)
        ).run()

        #expect(seen.value == 3)
        #expect(summary.succeeded == 1)
        #expect(summary.retried == 2)
        #expect(summary.failed == 0)
        let done = try job(test.store, ids[0])
        #expect(done.status == .succeeded)
        #expect(done.attempts == 3)
        #expect(done.output == "{\"attempt\":3}")
        #expect(done.error == nil)
        let attempts = try test.store.attempts(ofJob: ids[0])
        #expect(attempts.map(\.attempt) == [1, 2])
        #expect(attempts.map(\.error) == [
            JobError(type: "flaky", message: "attempt 1 failed"), JobError(type: "flaky", message: "attempt 2 failed"),
        ])
        #expect(sink.deliveredIDs == Set(ids))
        #expect(sink.last(ids[0])?.status == .succeeded)
        try expectDeliveredAsStored(sink, test.store, ids[0])
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }

    @Test("a non-retryable failure fails the job after one attempt", arguments: StoreDriver.allCases)
    func nonRetryable(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "bad", input: "x", maxAttempts: 5)])
        let seen = Counter()
        let handler = ClosureHandler { _, _ in
            seen.increment()
            throw JobFailure(type: "invalid_request", message: "never works", retryable: false, output: "{\"partial\":1}")
        }
        let sink = CollectingSink()
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: sink, options: fastOptions(mode: .drain)
        ).run()
        #expect(seen.value == 1)
        #expect(summary.failed == 1)
        #expect(summary.retried == 0)
        let failed = try job(test.store, ids[0])
        #expect(failed.status == .failed)
        #expect(failed.attempts == 1)
        #expect(failed.error == JobError(type: "invalid_request", message: "never works"))
        #expect(failed.output == "{\"partial\":1}")
        #expect(failed.finishedAt != nil)
        #expect(try test.store.attempts(ofJob: ids[0]).map(\.attempt) == [1])
        #expect(sink.deliveredIDs == Set(ids))
        #expect(sink.last(ids[0])?.status == .failed)
        try expectDeliveredAsStored(sink, test.store, ids[0])
    }

    @Test("a retryable failure on the last attempt fails the job", arguments: StoreDriver.allCases)
    func retryableOutOfAttempts(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "flaky", input: "x", maxAttempts: 2)])
        let seen = Counter()
        let handler = ClosureHandler { job, _ in
            seen.increment()
            throw JobFailure(type: "rate_limited", message: "429 on attempt \(job.attempts)", retryable: true)
        }
        let sink = CollectingSink()
        let summary = try WorkerPool(
            store: test.store, handler: handler, sink: sink, options: fastOptions(mode: .drain)
        ).run()
        #expect(seen.value == 2)
        #expect(summary.retried == 1)
        #expect(summary.failed == 1)
        let failed = try job(test.store, ids[0])
        #expect(failed.status == .failed)
        #expect(failed.attempts == 2)
        #expect(failed.error == JobError(type: "rate_limited", message: "429 on attempt 2"))
        #expect(try test.store.attempts(ofJob: ids[0]).map(\.attempt) == [1, 2])
        #expect(sink.deliveredIDs == Set(ids))
        #expect(sink.last(ids[0])?.status == .failed)
        try expectDeliveredAsStored(sink, test.store, ids[0])
    }

    @Test("any other error fails the job as internal_error without retry", arguments: StoreDriver.allCases)
    func otherErrors(_ driver: StoreDriver) throws {
        struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 3)])
        let handler = ClosureHandler { _, _ in throw Boom() }
        try WorkerPool(store: test.store, handler: handler, sink: CollectingSink(), options: fastOptions(mode: .drain))
            .run()
        let failed = try job(test.store, ids[0])
        #expect(failed.status == .failed)
        #expect(failed.attempts == 1)
        #expect(failed.error?.type == "internal_error")
        #expect(failed.error?.message.contains("boom") == true)
    }

    @Test("the retry waits for the backoff delay before the next attempt", arguments: StoreDriver.allCases)
    func retryWaitsForBackoff(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x")])
        let now = Timestamp.now
        let claimed = try claim(test.store, now: now, limit: 1)
        let backoff = RetryBackoff(baseMilliseconds: 1_000, random: { 0 })
        let at = now.adding(milliseconds: backoff.delay(afterAttempt: claimed[0].attempts))
        let result = try commit(test.store, now: now, [JobOutcome(
            job: claimed[0], resolution: .retry(JobError(type: "flaky", message: "m"), at: at, output: nil))])
        #expect(result.finished.isEmpty)
        let waiting = try job(test.store, ids[0])
        #expect(waiting.status == .queued)
        #expect(waiting.runAt == now.adding(milliseconds: 500))
        #expect(try test.store.hasUnfinishedJobs(in: .all))
        #expect(try claim(test.store, now: now.adding(milliseconds: 499), limit: 1).isEmpty)
        #expect(try claim(test.store, now: now.adding(milliseconds: 500), limit: 1).map(\.attempts) == [2])
    }

    @Test("retry of a failed job puts it back with fresh attempts", arguments: StoreDriver.allCases)
    func retryFailed(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x", maxAttempts: 1), NewJob(handler: "h", input: "y")])
        let claimed = try claim(test.store, limit: 2)
        try commit(test.store, [
            JobOutcome(job: claimed[0], resolution: .failed(JobError(type: "bad", message: "no"), output: "{}")),
            JobOutcome(job: claimed[1], resolution: .succeeded(output: "{}")),
        ])
        let outcomes = try test.store.retry(ids: [ids[0], ids[1], "job_missing"], now: .now)
        #expect(describe(outcomes) == [
            "\(ids[0]) requeued queued",
            "\(ids[1]) not_retryable succeeded",
            "job_missing not_found nil",
        ])
        let requeued = try job(test.store, ids[0])
        #expect(requeued.status == .queued)
        // Attempts keep counting, and the job gets its one attempt again.
        #expect(requeued.attempts == 1)
        #expect(requeued.maxAttempts == 2)
        #expect(requeued.error == nil)
        #expect(requeued.output == nil)
        #expect(requeued.finishedAt == nil)
        #expect(try job(test.store, ids[1]).status == .succeeded)
        #expect(try claim(test.store, limit: 5).map(\.id) == [ids[0]])
    }

    @Test("retry of a cancelled job, and of a queued one", arguments: StoreDriver.allCases)
    func retryCancelled(_ driver: StoreDriver) throws {
        let test = try TestStore(driver)
        defer { test.remove() }
        let ids = try enqueue(test.store, [NewJob(handler: "h", input: "x"), NewJob(handler: "h", input: "y")])
        _ = try test.store.cancel(.ids([ids[0]]), now: .now)
        let outcomes = try test.store.retry(ids: ids, now: .now)
        #expect(outcomes.map(\.effect) == [.requeued, .notRetryable])
        #expect(outcomes[1].status == .queued)
        #expect(try job(test.store, ids[0]).status == .queued)
        #expect(try job(test.store, ids[0]).cancelRequested == false)
        // It is no longer waiting for delivery as a cancelled job.
        #expect(try test.store.undeliveredJobs(limit: 10).isEmpty)
    }
}

@Suite("Retry backoff")
struct RetryBackoffTests {
    @Test("with random pinned at 0 the delay is half the nominal one, doubling each attempt")
    func lowerBoundDoubles() {
        let backoff = RetryBackoff(baseMilliseconds: 1_000, maximumMilliseconds: 300_000, random: { 0 })
        #expect(backoff.delay(afterAttempt: 1) == 500)
        #expect(backoff.delay(afterAttempt: 2) == 1_000)
        #expect(backoff.delay(afterAttempt: 3) == 2_000)
        #expect(backoff.delay(afterAttempt: 4) == 4_000)
        for attempt in 1..<9 {
            #expect(backoff.delay(afterAttempt: attempt + 1) == 2 * backoff.delay(afterAttempt: attempt))
        }
    }

    @Test("with random pinned at 0.999 the delay is just under the nominal one")
    func upperBound() {
        let backoff = RetryBackoff(baseMilliseconds: 1_000, maximumMilliseconds: 300_000, random: { 0.999 })
        #expect(backoff.delay(afterAttempt: 1) == 999)
        #expect(backoff.delay(afterAttempt: 2) == 1_999)
        #expect(backoff.delay(afterAttempt: 3) == 3_998)
    }

    @Test("the delay is capped at maximumMilliseconds")
    func cap() {
        let low = RetryBackoff(baseMilliseconds: 1_000, maximumMilliseconds: 5_000, random: { 0 })
        let high = RetryBackoff(baseMilliseconds: 1_000, maximumMilliseconds: 5_000, random: { 0.999 })
        #expect(low.delay(afterAttempt: 3) == 2_000)   // nominal 4000
        #expect(low.delay(afterAttempt: 4) == 2_500)   // nominal 8000, capped at 5000
        #expect(high.delay(afterAttempt: 4) == 4_997)
        // Huge attempt numbers neither overflow nor pass the cap.
        for attempt in [10, 40, 63, 64, 100, 1_000_000] {
            #expect(low.delay(afterAttempt: attempt) == 2_500)
            #expect(high.delay(afterAttempt: attempt) == 4_997)
        }
    }

    @Test("every delay stays within [nominal / 2, nominal]")
    func bounds() {
        for attempt in 1...30 {
            let nominal = min(Int64(300_000), Int64(250) << Int64(attempt - 1))
            for random in [0.0, 0.25, 0.5, 0.999_999] {
                let delay = RetryBackoff(baseMilliseconds: 250, maximumMilliseconds: 300_000, random: { random })
                    .delay(afterAttempt: attempt)
                #expect(delay >= nominal / 2)
                #expect(delay <= nominal)
            }
        }
    }

    @Test("a zero base retries at once; attempt 0 counts as the first")
    func zeroBase() {
        let zero = RetryBackoff(baseMilliseconds: 0, random: { 0.999 })
        #expect(zero.delay(afterAttempt: 1) == 0)
        #expect(zero.delay(afterAttempt: 7) == 0)
        let backoff = RetryBackoff(baseMilliseconds: 1_000, random: { 0 })
        #expect(backoff.delay(afterAttempt: 0) == backoff.delay(afterAttempt: 1))
    }
}
