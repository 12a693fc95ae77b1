import Foundation
import JobQueue

/// Prunes what a home no longer needs (finished jobs, closed sessions, result files), gives
/// the space back, and applies the retention policy for workers at most once an hour across
/// every process on the home.
///
/// ```swift
/// let retention = Retention(queue: queue)
/// let report = try retention.prune(PruneRequest(finishedBefore: try RetentionAge(parsing: "7d", option: "age")))
/// print(report.summary)
/// ```
public final class Retention: Sendable {
    public let queue: AgentQueue
    /// The setting that records when a process last applied the policy.
    public static let lastRunKey = "retention_last_run_at"
    /// How often the policy is applied, at most, by all processes together.
    public static let intervalMilliseconds: Int64 = 3_600_000

    /// Applies the policy in the background, one run at a time in this process.
    private let pass = BackgroundPass()

    public init(queue: AgentQueue) { self.queue = queue }

    /// Removes what `request` asks for, in short transactions, then returns the freed pages
    /// to the file system in short steps.
    /// - throws: ``JobQueue/StoreError`` or ``AgentQError`` `.io`; what was removed before stays removed.
    public func prune(_ request: PruneRequest, now: Timestamp = .now) throws -> RetentionReport {
        var report = RetentionReport(dryRun: request.dryRun)
        let files = ResultFileScan(directory: queue.home.resultsDirectory)
        if let age = request.finishedBefore {
            let jobs = try queue.store.pruneFinishedJobs(finishedBefore: age.cutoff(now: now), dryRun: request.dryRun) { pruned in
                guard request.removeResults else { return }
                let removed = files.removeFiles(ofJobs: pruned.map(\.id))
                report.resultFiles += removed.files
                report.resultBytes += removed.bytes
            }
            report.jobs = jobs
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, jobs.largestWriteHoldMilliseconds)
            if request.removeResults && request.dryRun {
                // Which jobs would go is not listed in a dry run; their files were written when
                // they finished, so the files written before the cutoff are the estimate.
                let estimate = try files.removeFiles(writtenBefore: age.cutoff(now: now), dryRun: true)
                report.resultFiles = min(estimate.files, jobs.jobs)
                report.resultBytes = estimate.files > 0
                    ? estimate.bytes * Int64(report.resultFiles) / Int64(estimate.files) : 0
            }
            if !request.dryRun { try queue.budgets.removeBudgetsOfRemovedBatches() }
        }
        if let age = request.sessionsEndedBefore {
            let sessions = try queue.sessions.pruneClosedSessions(endedBefore: age.cutoff(now: now), dryRun: request.dryRun)
            report.sessions = sessions
            report.largestWriteHoldMilliseconds = max(
                report.largestWriteHoldMilliseconds, sessions.largestWriteHoldMilliseconds)
        }
        if let age = request.resultsWrittenBefore {
            let removed = try files.removeFiles(writtenBefore: age.cutoff(now: now), dryRun: request.dryRun)
            report.resultFiles += removed.files
            report.resultBytes += removed.bytes
        }
        if !request.dryRun {
            // Writes that died half-way leave a temporary file beside the results; an hour
            // after their last touch they are litter, whatever else this prune was asked.
            let anHourAgo = now.adding(milliseconds: -3_600_000)
            let litter = try files.removeAbandonedTemporaryFiles(untouchedSince: anHourAgo, dryRun: false)
            report.resultFiles += litter.files
            report.resultBytes += litter.bytes
            // The same for uploads to `agentq serve` that a killed server left half-received.
            let home = queue.home.root
            _ = try ResultFileScan(directory: home.appendingPathComponent("uploads"))
                .removeEntries(matching: { $0.hasPrefix("upload-") }, writtenBefore: anHourAgo, dryRun: false)
            _ = try ResultFileScan(directory: home.appendingPathComponent("files"))
                .removeEntries(matching: { $0.hasPrefix(".partial-") }, writtenBefore: anHourAgo, dryRun: false)
            let before = try queue.database.space()
            let vacuum = try queue.database.incrementalVacuum()
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, vacuum.largestHoldMilliseconds)
            report.databaseBytesFreed = max(0, before.fileBytes - (try queue.database.space().fileBytes))
        }
        return report
    }

    /// The home's figures, and a dry run of its policy.
    /// - throws: ``JobQueue/StoreError`` or ``AgentQError`` `.io`.
    public func stats(now: Timestamp = .now) throws -> HomeStats {
        let policy = try RetentionPolicy(settings: queue.settings)
        let files = try ResultFileScan(directory: queue.home.resultsDirectory).totals()
        return HomeStats(
            database: try queue.database.space(), store: try queue.store.summary(),
            sessions: try queue.sessions.countsByStatus(), resultFiles: files.files, resultBytes: files.bytes,
            policy: policy, policyWouldRemove: policy.isEmpty ? nil : try prune(policy.request(dryRun: true), now: now),
            policyLastRunAt: try queue.settings.value(Self.lastRunKey).flatMap(Int64.init).map(Timestamp.init(milliseconds:)))
    }

    /// Applies the policy if one is set and no process on the home applied it in the last hour.
    /// Of several processes calling this at once, one runs it.
    /// - returns: what was removed; nil when there is no policy or it is not due.
    /// - throws: ``JobQueue/StoreError`` or ``AgentQError`` `.io`.
    public func applyPolicyIfDue(now: Timestamp = .now) throws -> RetentionReport? {
        guard try isDue(now: now) else { return nil }
        let policy = try RetentionPolicy(settings: queue.settings)
        guard !policy.isEmpty,
            try queue.settings.claim(Self.lastRunKey, now: now, interval: Self.intervalMilliseconds)
        else { return nil }
        return try prune(policy.request(dryRun: false), now: now)
    }

    /// A read, no write: whether a policy is set and an hour has passed since the last run.
    private func isDue(now: Timestamp) throws -> Bool {
        let settings = try queue.settings.all()
        guard settings.contains(where: { RetentionPolicy.Key(rawValue: $0.key) != nil }) else { return false }
        guard let last = settings.first(where: { $0.key == Self.lastRunKey }).flatMap({ Int64($0.value) }) else { return true }
        return now.milliseconds - last >= Self.intervalMilliseconds
    }

    /// For a worker's maintenance pass: checks the policy and, when due, applies it on a thread
    /// of its own, so the pass (and the heartbeats after it) never waits for a long prune.
    public func applyPolicyInBackgroundIfDue(log: @escaping @Sendable (String) -> Void) {
        // Even the check is off the pass's thread: its read retries a locked database for up
        // to three busy timeouts, which must never hold up the worker's heartbeats.
        pass.startUnlessRunning { [self] in
            do {
                guard try isDue(now: .now) else { return }
                if let report = try applyPolicyIfDue() { log("retention: " + report.summary) }
            } catch {
                log("retention: \(error)")
            }
        }
    }
}
