import GRDB

/// How a bulk submission's jobs stay out of sight until the whole file is in.
///
/// A large batch is written in short transactions, its jobs `queued` from the first one, in
/// a batch whose state is `loading`. Every statement that claims, counts, lists or cancels
/// jobs skips the jobs of a loading batch (the way claims skip a paused lane), and the
/// submission's last transaction makes the batch `live` with one small UPDATE of its batch
/// row: each job row is written once. A submitter that dies half-way leaves a loading batch
/// nobody sees, which ``SQLiteJobStore/cleanUpAbandonedSubmissions(now:)`` deletes.
///
/// The cost: a claim walks the claim index past the loading jobs that come before the first
/// claimable one (about 0.17 µs a job), and only while a batch loads.
///
/// ```swift
/// let sql = "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND \(SQLiteJobStore.notLoading)"
/// ```
extension SQLiteJobStore {
    /// SQL true for a job (the `batch_id` column in scope) that is not in a loading batch.
    ///
    /// `state != 'live'` as well as `= 'loading'`: SQLite uses the small partial index
    /// `batches_not_live` only for a condition that repeats its own, and would otherwise scan
    /// every batch for each statement.
    static let notLoading = """
        (batch_id IS NULL OR batch_id NOT IN (SELECT id FROM batches WHERE state != 'live' AND state = 'loading'))
        """

    /// The queued jobs of loading batches, which a count over the whole table must leave out.
    /// - throws: a GRDB `DatabaseError`.
    static func queuedInLoadingBatches(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM jobs
            WHERE batch_id IN (SELECT id FROM batches WHERE state != 'live' AND state = 'loading') AND status = 'queued'
            """) ?? 0
    }
}
