import Dispatch
import Foundation

/// Retention for ``PostgresJobStore``: pruning finished jobs in short transactions, and the
/// figures `agentq stats` shows — what ``SQLiteJobStore``'s retention does, on PostgreSQL.
extension PostgresJobStore {
    /// Jobs one prune transaction deletes at most: a few thousand rows keeps each transaction
    /// (and the rows it locks) short, so claims and heartbeats of other hosts never wait long.
    static let pruneRowsPerTransaction = 2000

    /// A job that may be pruned: finished before the cutoff, and its result already delivered.
    static func prunable(_ table: String = "jobs") -> String {
        "\(table).status IN ('succeeded', 'failed', 'cancelled') AND NOT \(table).delivery_pending"
    }

    /// About how many bytes a job takes: its texts, plus a fixed share for the rest of the row.
    static let jobBytes = """
        (octet_length(input) + COALESCE(octet_length(output), 0) + COALESCE(octet_length(metadata), 0)
         + COALESCE(octet_length(options), 0) + COALESCE(octet_length(error_message), 0)
         + COALESCE(octet_length(custom_id), 0) + 160)
        """

    public func pruneFinishedJobs(
        finishedBefore: Timestamp, dryRun: Bool, onPruned: ([PrunedJob]) throws -> Void
    ) throws -> PruneReport {
        let cutoff = db(finishedBefore)
        if dryRun { return try countPrunable(cutoff: cutoff) }
        var report = PruneReport()
        var afterSeq: Int64 = 0
        var emptiedBatches: Set<String> = []
        while true {
            let started = DispatchTime.now().uptimeNanoseconds
            // Candidates and deletion in one statement: each row is checked again under its lock,
            // so a job retried meanwhile stays.
            let (pruned, last, errors): ([PrunedJob], Int64?, Int) = try database.write { conn in
                let rows = try conn.query("""
                    WITH c AS (
                        SELECT seq FROM jobs WHERE seq > \(afterSeq) AND \(unescaped: Self.prunable())
                          AND finished_at < \(cutoff)
                        ORDER BY seq LIMIT \(Self.pruneRowsPerTransaction) FOR UPDATE SKIP LOCKED),
                    d AS (
                        DELETE FROM jobs USING c WHERE jobs.seq = c.seq
                        RETURNING jobs.seq, jobs.id, jobs.batch_id, \(unescaped: Self.jobBytes) AS bytes),
                    e AS (DELETE FROM job_attempt_errors WHERE job_seq IN (SELECT seq FROM d) RETURNING 1)
                    SELECT seq, id, batch_id, bytes, (SELECT count(*) FROM e) FROM d ORDER BY seq
                    """)
                var pruned: [PrunedJob] = []
                var last: Int64?
                var errors = 0
                var bytes: Int64 = 0
                for row in rows {
                    let (seq, id, batchID, size, errorCount) = try row.decode((Int64, String, String?, Int64, Int).self)
                    pruned.append(PrunedJob(id: id, batchID: batchID))
                    last = seq
                    errors = errorCount
                    bytes += size
                }
                if let first = pruned.min(by: { $0.id < $1.id })?.id, let lastID = pruned.max(by: { $0.id < $1.id })?.id {
                    try conn.execute("""
                        INSERT INTO pruned_job_ranges (first_id, last_id, jobs, pruned_at)
                        VALUES (\(first), \(lastID), \(pruned.count), \(db(.now)))
                        """)
                }
                report.bytes += bytes
                return (pruned, last, errors)
            }
            guard let last else { break }
            afterSeq = last
            report.jobs += pruned.count
            report.attemptErrors += errors
            note(transactionStarted: started, in: &report)
            for job in pruned { if let batchID = job.batchID { emptiedBatches.insert(batchID) } }
            try onPruned(pruned)
            if pruned.count < Self.pruneRowsPerTransaction { break }
        }
        try pruneEmptyBatches(Array(emptiedBatches), cutoff: cutoff, report: &report)
        return report
    }

    private func note(transactionStarted started: UInt64, in report: inout PruneReport) {
        report.transactions += 1
        let held = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
        report.largestWriteHoldMilliseconds = max(report.largestWriteHoldMilliseconds, held)
    }

    /// Deletes the batches left with no job: those this prune took jobs from, then any created
    /// before the cutoff (left empty by an earlier prune that was stopped), 500 per transaction.
    private func pruneEmptyBatches(_ touched: [String], cutoff: Int64, report: inout PruneReport) throws {
        let noJobs = "NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id)"
        for start in stride(from: 0, to: touched.count, by: 500) {
            let ids = Array(touched[start..<min(start + 500, touched.count)])
            let started = DispatchTime.now().uptimeNanoseconds
            report.batches += try database.write { conn in
                try conn.execute("DELETE FROM batches WHERE id = ANY(\(ids)) AND \(unescaped: noJobs)")
            }
            note(transactionStarted: started, in: &report)
        }
        while true {
            let started = DispatchTime.now().uptimeNanoseconds
            let removed = try database.write { conn in
                try conn.execute("""
                    DELETE FROM batches WHERE id IN (
                        SELECT id FROM batches WHERE created_at < \(cutoff) AND \(unescaped: noJobs) LIMIT 500)
                    """)
            }
            note(transactionStarted: started, in: &report)
            report.batches += removed
            if removed < 500 { return }
        }
    }

    /// What a prune with this cutoff would remove, counted on one snapshot.
    private func countPrunable(cutoff: Int64) throws -> PruneReport {
        try database.write { conn in
            try conn.run(script: "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            var report = PruneReport()
            if let row = try conn.query("""
                SELECT count(*), COALESCE(sum(\(unescaped: Self.jobBytes)), 0)::bigint FROM jobs
                WHERE \(unescaped: Self.prunable()) AND finished_at < \(cutoff)
                """).first {
                (report.jobs, report.bytes) = try row.decode((Int, Int64).self)
            }
            report.attemptErrors = try conn.scalar("""
                SELECT count(*) FROM job_attempt_errors
                WHERE job_seq IN (SELECT seq FROM jobs WHERE \(unescaped: Self.prunable()) AND finished_at < \(cutoff))
                """, as: Int.self) ?? 0
            report.batches = try conn.scalar("""
                SELECT count(*) FROM batches
                WHERE (created_at < \(cutoff) OR EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id))
                  AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.batch_id = batches.id
                                  AND NOT (\(unescaped: Self.prunable()) AND finished_at < \(cutoff)))
                """, as: Int.self) ?? 0
            return report
        }
    }

    public func prunedAt(jobID: String) throws -> Timestamp? {
        try database.read { conn in
            try conn.scalar("""
                SELECT max(pruned_at) FROM pruned_job_ranges
                WHERE first_id <= \(jobID) AND last_id >= \(jobID)
                  AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = \(jobID))
                """, as: Int64.self).map(Timestamp.init(milliseconds:))
        }
    }

    public func summary() throws -> StoreSummary {
        try database.read { conn in
            StoreSummary(
                counts: try Self.counts(batchID: nil, conn: conn),
                batches: try conn.scalar("SELECT count(*) FROM batches", as: Int.self) ?? 0,
                oldestFinishedAt: try conn.scalar("""
                    SELECT min(finished_at) FROM jobs WHERE status IN ('succeeded', 'failed', 'cancelled')
                    """, as: Int64.self).map(Timestamp.init(milliseconds:)))
        }
    }
}
