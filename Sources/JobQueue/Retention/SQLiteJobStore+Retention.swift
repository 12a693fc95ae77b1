import Dispatch
import Foundation
import GRDB

/// Retention for ``SQLiteJobStore``: pruning finished jobs in short transactions, and the
/// figures `agentq stats` shows.
extension SQLiteJobStore {
    /// Rows one prune transaction starts with; it then grows or shrinks within
    /// ``pruneRowsRange`` to hold the write lock for about ``pruneTargetHoldMilliseconds``.
    static let pruneInitialRows = 1000
    static let pruneRowsRange = 100...5000
    static let pruneTargetHoldMilliseconds = 10.0

    /// A job that may be pruned: finished before `?`, and its result already delivered (a job
    /// whose result file is not written yet is kept until it is).
    static let prunable = """
        status IN ('succeeded', 'failed', 'cancelled') AND delivery_pending = 0 AND finished_at < ?
        """

    /// About how many bytes a job takes in the file: its texts, plus a fixed share for the
    /// row's other columns and its entries in the `id` and `batch_id` indexes.
    static let jobBytes = """
        (LENGTH(CAST(input AS BLOB)) + IFNULL(LENGTH(CAST(output AS BLOB)), 0)
         + IFNULL(LENGTH(CAST(metadata AS BLOB)), 0) + IFNULL(LENGTH(CAST(options AS BLOB)), 0)
         + IFNULL(LENGTH(CAST(error_message AS BLOB)), 0) + IFNULL(LENGTH(custom_id), 0) + 160)
        """

    public func pruneFinishedJobs(
        finishedBefore: Timestamp, dryRun: Bool, onPruned: ([PrunedJob]) throws -> Void
    ) throws -> PruneReport {
        let cutoff = finishedBefore.milliseconds
        if dryRun { return try countPrunable(cutoff: cutoff) }
        var report = PruneReport()
        var afterSeq: Int64 = 0
        var rows = Self.pruneInitialRows
        var emptiedBatches: Set<String> = []
        while true {
            // Candidates are found on a snapshot (readers never block writers); the write only
            // deletes the rows it is given, each checked again, so a job retried meanwhile stays.
            let candidates = try database.read(retryTransient: true) { db in
                try Int64.fetchAll(db, sql: """
                    SELECT seq FROM jobs WHERE seq > ? AND \(Self.prunable) ORDER BY seq LIMIT ?
                    """, arguments: [afterSeq, cutoff, rows])
            }
            guard let last = candidates.last else { break }
            afterSeq = last
            let (pruned, hold) = try database.timedWrite { db in
                try Self.delete(candidates, cutoff: cutoff, report: &report, db: db)
            }
            report.transactions += 1
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
            for job in pruned { if let batchID = job.batchID { emptiedBatches.insert(batchID) } }
            try onPruned(pruned)
            if candidates.count < rows { break }
            if hold > Self.pruneTargetHoldMilliseconds * 2 {
                rows = max(Self.pruneRowsRange.lowerBound, rows / 2)
            } else if hold < Self.pruneTargetHoldMilliseconds / 2 {
                rows = min(Self.pruneRowsRange.upperBound, rows * 2)
            }
        }
        try pruneEmptyBatches(Array(emptiedBatches), cutoff: cutoff, report: &report)
        return report
    }

    /// Deletes the given jobs that are still prunable, their attempt errors, and records the
    /// range of their IDs.
    private static func delete(
        _ seqs: [Int64], cutoff: Int64, report: inout PruneReport, db: Database
    ) throws -> [PrunedJob] {
        let deleteJob = try db.cachedStatement(sql: """
            DELETE FROM jobs WHERE seq = ? AND \(prunable) RETURNING id, batch_id, \(jobBytes)
            """)
        let deleteErrors = try db.cachedStatement(sql: "DELETE FROM job_attempt_errors WHERE job_seq = ?")
        var pruned: [PrunedJob] = []
        pruned.reserveCapacity(seqs.count)
        for seq in seqs {
            guard let row = try Row.fetchOne(deleteJob, arguments: [seq, cutoff]) else { continue }
            pruned.append(PrunedJob(id: row[0], batchID: row[1]))
            report.bytes += row[2] as Int64? ?? 0
            try deleteErrors.execute(arguments: [seq])
            report.attemptErrors += db.changesCount
        }
        report.jobs += pruned.count
        if let first = pruned.min(by: { $0.id < $1.id })?.id, let last = pruned.max(by: { $0.id < $1.id })?.id {
            try db.execute(
                sql: "INSERT INTO pruned_job_ranges (first_id, last_id, jobs, pruned_at) VALUES (?, ?, ?, ?)",
                arguments: [first, last, pruned.count, Timestamp.now.milliseconds])
        }
        return pruned
    }

    /// Deletes the live batches left with no job: those this prune took jobs from, then any
    /// created before the cutoff (left empty by an earlier prune that was stopped), a few
    /// hundred per transaction. A batch still loading or going live is never touched.
    private func pruneEmptyBatches(_ touched: [String], cutoff: Int64, report: inout PruneReport) throws {
        let noJobs = "state = 'live' AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)"
        for start in stride(from: 0, to: touched.count, by: 500) {
            let ids = touched[start..<min(start + 500, touched.count)]
            let hold = try database.timedWrite { db in
                let statement = try db.cachedStatement(sql: "DELETE FROM batches WHERE id = ? AND \(noJobs)")
                for id in ids {
                    try statement.execute(arguments: [id])
                    report.batches += db.changesCount
                }
            }.1
            report.transactions += 1
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
        }
        var afterRowID: Int64 = 0
        while true {
            let (scanned, hold): (Int64?, Double) = try database.timedWrite { db in
                let last = try Int64.fetchOne(db, sql: """
                    SELECT MAX(rowid) FROM (SELECT rowid FROM batches WHERE rowid > ? ORDER BY rowid LIMIT 500)
                    """, arguments: [afterRowID])
                guard let last else { return nil }
                try db.execute(
                    sql: "DELETE FROM batches WHERE rowid > ? AND rowid <= ? AND created_at < ? AND \(noJobs)",
                    arguments: [afterRowID, last, cutoff])
                report.batches += db.changesCount
                return last
            }
            report.transactions += 1
            report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, hold)
            guard let scanned else { return }
            afterRowID = scanned
        }
    }

    /// What a prune with this cutoff would remove, counted on one snapshot.
    private func countPrunable(cutoff: Int64) throws -> PruneReport {
        try database.read(retryTransient: true) { db in
            var report = PruneReport()
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*), IFNULL(SUM(\(Self.jobBytes)), 0) FROM jobs WHERE \(Self.prunable)",
                arguments: [cutoff])
            report.jobs = row?[0] ?? 0
            report.bytes = row?[1] ?? 0
            report.attemptErrors = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM job_attempt_errors
                WHERE job_seq IN (SELECT seq FROM jobs WHERE \(Self.prunable))
                """, arguments: [cutoff]) ?? 0
            report.batches = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM batches
                WHERE state = 'live'
                  AND (created_at < ?1 OR EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id))
                  AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id
                                  AND NOT (status IN ('succeeded', 'failed', 'cancelled')
                                           AND delivery_pending = 0 AND finished_at < ?1))
                """, arguments: [cutoff]) ?? 0
            return report
        }
    }

    public func prunedAt(jobID: String) throws -> Timestamp? {
        try database.read(retryTransient: true) { db in
            if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)", arguments: [jobID]) == true {
                return nil
            }
            return try Int64.fetchOne(db, sql: """
                SELECT MAX(pruned_at) FROM pruned_job_ranges WHERE first_id <= ?1 AND last_id >= ?1
                """, arguments: [jobID]).map(Timestamp.init(milliseconds:))
        }
    }

    public func summary() throws -> StoreSummary {
        try database.read(retryTransient: true) { db in
            StoreSummary(
                counts: try Self.counts(batchID: nil, db: db),
                batches: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM batches WHERE state != 'loading'") ?? 0,
                oldestFinishedAt: try Int64.fetchOne(db, sql: """
                    SELECT MIN(finished_at) FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')
                    """).map(Timestamp.init(milliseconds:)))
        }
    }
}
