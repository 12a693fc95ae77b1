import GRDB

/// The changes one write transaction makes to `batch_job_counts`, summed per batch and class,
/// then written with one statement per (batch, class) before the transaction commits.
///
/// The status changes of SQLite jobs are counted here, by the statement's own code, rather than
/// by a trigger that ran once per job row: a worker's round trip that ends 200 jobs of a batch
/// writes two counter rows instead of firing 200 triggers of two statements each. Inserts and
/// deletes (submit, prune) are still counted by triggers; see ``SQLiteJobStore``'s batch counts.
///
/// ```swift
/// var changes = BatchCountChanges()
/// changes.move(batchID: job.batchID, from: .running, to: .succeeded)
/// try changes.write(db)   // in the same transaction as the UPDATE
/// ```
struct BatchCountChanges {
    private struct Key: Hashable {
        var batchID: String
        var countedClass: String
    }

    private var deltas: [Key: Int] = [:]

    /// The counter a status is kept under: queued and running jobs share `unfinished`.
    static func countedClass(_ status: JobStatus) -> String {
        status.isFinished ? status.rawValue : "unfinished"
    }

    /// Counts a job of `batchID` leaving `old` for `new`; `old` nil: the job was not counted
    /// before (staged by an older agentq's submission).
    mutating func move(batchID: String?, from old: JobStatus?, to new: JobStatus, jobs: Int = 1) {
        if let old {
            guard Self.countedClass(old) != Self.countedClass(new) else { return }
            add(-jobs, batchID: batchID, status: old)
        }
        add(jobs, batchID: batchID, status: new)
    }

    /// Adds `jobs` (negative: takes them) to the counter of `status` in `batchID`.
    mutating func add(_ jobs: Int, batchID: String?, status: JobStatus) {
        guard let batchID, jobs != 0 else { return }
        deltas[Key(batchID: batchID, countedClass: Self.countedClass(status)), default: 0] += jobs
    }

    /// Writes the summed changes; call it inside the transaction that changed the jobs.
    /// - throws: a GRDB error.
    func write(_ db: Database) throws {
        guard !deltas.isEmpty else { return }
        let statement = try db.cachedStatement(sql: """
            INSERT INTO batch_job_counts (batch_id, class, jobs) VALUES (?, ?, ?)
            ON CONFLICT (batch_id, class) DO UPDATE SET jobs = jobs + excluded.jobs
            """)
        for (key, delta) in deltas where delta != 0 {
            statement.setUncheckedArguments([key.batchID, key.countedClass, delta])
            try statement.execute()
        }
    }
}
