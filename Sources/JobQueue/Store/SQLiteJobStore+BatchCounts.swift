import GRDB

/// Batch counts kept up to date by the database itself, so `batch status` reads a few rows
/// instead of counting a million.
///
/// The counters live in `batch_job_counts`, one row per batch and *class*: `unfinished`
/// (queued or running), `succeeded`, `failed`, `cancelled`, changed in the same transaction as
/// the jobs, so the counts never disagree with the rows. The running jobs of a batch are
/// counted from the small `jobs_running` index when read; a claim (queued → running) stays
/// inside `unfinished` and costs nothing.
///
/// - Inserts and deletes (submit, prune) are counted by triggers, whichever process or
///   statement makes them.
/// - Status changes are counted by the statement's own code (``BatchCountChanges``): a
///   worker's round trip, a cancel, a retry, a rescue each write one counter row per batch and
///   class they changed. An UPDATE trigger did this until `jobqueue-7`; it fired once per job
///   row, a fifth of the engine's time. Every status change the store makes goes through this
///   file's callers; a status changed by hand with plain SQL (the sqlite3 shell) is not
///   counted until ``recountBatchJobs(_:)`` runs.
/// - The jobs of a bulk submission still loading wait in `batch_chunks`, where nothing counts
///   them; ``makeLive(batchID:)`` inserts each chunk with the triggers switched off and counts
///   it with one statement. (Rows an older agentq staged in `jobs` are not counted either.)
///
/// ```swift
/// let counts = try store.counts(batchID: "bat_…")   // a few rows, whatever the batch's size
/// ```
extension SQLiteJobStore {
    /// The class a status is counted under, as SQL over `column`.
    private static func countedClass(_ column: String) -> String {
        "CASE WHEN \(column) IN ('queued', 'running') THEN 'unfinished' ELSE \(column) END"
    }

    /// Creates the counters and their triggers, and counts the jobs already there (one scan,
    /// once, when an existing home is opened by this version).
    static let batchCountsMigration = SQLiteMigration("jobqueue-5-batch-counts", sql: """
        CREATE TABLE batch_job_counts (
            batch_id TEXT NOT NULL,
            class TEXT NOT NULL,
            jobs INTEGER NOT NULL,
            PRIMARY KEY (batch_id, class)
        ) WITHOUT ROWID;
        INSERT INTO batch_job_counts (batch_id, class, jobs)
            SELECT batch_id, \(countedClass("status")), COUNT(*) FROM jobs
            WHERE batch_id IS NOT NULL AND status != 'staged'
            GROUP BY 1, 2;
        CREATE TRIGGER batch_job_counts_insert AFTER INSERT ON jobs
            WHEN new.batch_id IS NOT NULL AND new.status != 'staged'
        BEGIN
            INSERT INTO batch_job_counts (batch_id, class, jobs) VALUES (new.batch_id, \(countedClass("new.status")), 1)
                ON CONFLICT (batch_id, class) DO UPDATE SET jobs = jobs + 1;
        END;
        -- Staged -> queued is counted by the statement that makes a chunk live.
        CREATE TRIGGER batch_job_counts_update AFTER UPDATE OF status, batch_id ON jobs
            WHEN (old.batch_id IS NOT NULL OR new.batch_id IS NOT NULL)
                AND (\(countedClass("old.status")) IS NOT \(countedClass("new.status")) OR old.batch_id IS NOT new.batch_id)
                AND NOT (old.status = 'staged' AND new.status = 'queued')
        BEGIN
            UPDATE batch_job_counts SET jobs = jobs - 1
                WHERE batch_id = old.batch_id AND class = \(countedClass("old.status")) AND old.status != 'staged';
            INSERT INTO batch_job_counts (batch_id, class, jobs)
                SELECT new.batch_id, \(countedClass("new.status")), 1 WHERE new.batch_id IS NOT NULL AND new.status != 'staged'
                ON CONFLICT (batch_id, class) DO UPDATE SET jobs = jobs + 1;
        END;
        CREATE TRIGGER batch_job_counts_delete AFTER DELETE ON jobs
            WHEN old.batch_id IS NOT NULL AND old.status != 'staged'
        BEGIN
            UPDATE batch_job_counts SET jobs = jobs - 1 WHERE batch_id = old.batch_id AND class = \(countedClass("old.status"));
        END;
        CREATE TRIGGER batch_job_counts_batch_delete AFTER DELETE ON batches
        BEGIN
            DELETE FROM batch_job_counts WHERE batch_id = old.id;
        END;
        """)

    /// Drops the per-row UPDATE trigger: the statements that change a job's status count the
    /// change themselves, once per batch and class per transaction (see ``BatchCountChanges``).
    static let batchCountsByWritersMigration = SQLiteMigration("jobqueue-7-batch-counts-by-writers", sql: """
        DROP TRIGGER batch_job_counts_update;
        """)

    /// Counts every batch's jobs again from the rows (one scan): after statuses were changed
    /// with plain SQL, which the counters do not see.
    ///
    /// ```swift
    /// try database.write { db, _ in
    ///     try db.execute(sql: "UPDATE jobs SET status = 'succeeded' WHERE …")
    ///     try SQLiteJobStore.recountBatchJobs(db)
    /// }
    /// ```
    /// - throws: a GRDB error.
    public static func recountBatchJobs(_ db: Database) throws {
        try db.execute(sql: """
            DELETE FROM batch_job_counts;
            INSERT INTO batch_job_counts (batch_id, class, jobs)
                SELECT batch_id, \(countedClass("status")), COUNT(*) FROM jobs
                WHERE batch_id IS NOT NULL AND status != 'staged'
                GROUP BY 1, 2;
            """)
    }

    /// `jobs list --status failed|cancelled`, newest first, without walking the whole table:
    /// those jobs are few, so the index costs almost nothing to keep (a claim or a success
    /// never touches it).
    static let listIndexMigration = SQLiteMigration("jobqueue-6-unsuccessful-index", sql: """
        CREATE INDEX jobs_unsuccessful ON jobs (status, seq) WHERE status IN ('failed', 'cancelled');
        """)

    /// Counts the jobs `makeLive` just made queued (from a chunk, or staged by an older agentq),
    /// in the same transaction.
    static func countMadeLive(_ jobs: Int, batchID: String, db: Database) throws {
        guard jobs > 0 else { return }
        try db.execute(sql: """
            INSERT INTO batch_job_counts (batch_id, class, jobs) VALUES (?, 'unfinished', ?)
            ON CONFLICT (batch_id, class) DO UPDATE SET jobs = jobs + excluded.jobs
            """, arguments: [batchID, jobs])
    }

    /// The counts of one batch from its counters, or of the whole home from a scan.
    static func counts(batchID: String?, db: Database) throws -> JobCounts {
        var counts = JobCounts()
        guard let batchID else {
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) FROM jobs GROUP BY status") {
                if let status = JobStatus(rawValue: row[0]) { counts[status] = row[1] }
            }
            return counts
        }
        var unfinished = 0
        for row in try Row.fetchAll(
            db, sql: "SELECT class, jobs FROM batch_job_counts WHERE batch_id = ?", arguments: [batchID])
        {
            let name: String = row[0]
            if name == "unfinished" {
                unfinished = row[1]
            } else if let status = JobStatus(rawValue: name) {
                counts[status] = row[1]
            }
        }
        guard unfinished > 0 else { return counts }
        // The running ones from the small `jobs_running` index (the + keeps SQLite from
        // walking the batch's whole `jobs_batch` range instead); the rest are queued.
        let running = try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM jobs WHERE status = 'running' AND +batch_id = ?", arguments: [batchID]) ?? 0
        counts.running = running
        counts.queued = unfinished - running
        return counts
    }
}
