/// A statement the store runs whenever it changes a job's output, declared by the migration
/// whose tables depend on the outputs: how a layer above keeps totals over its jobs' outputs in
/// step with them, in the same transaction, without the engine knowing what the outputs mean.
///
/// A trigger did this before (`AFTER UPDATE OF output`). SQLite set it up afresh for every row
/// each finishing statement wrote, even when its `WHEN` turned it down: about a tenth of the
/// engine's work per job. The store checks ``marker`` itself and runs ``sql`` only for the
/// outputs that contain it.
///
/// The store runs ``sql`` for a job of a batch whose old or new output contains ``marker``,
/// with `?1` the batch ID, `?2` the old output and `?3` the new one (either may be NULL). It
/// covers every output change the store makes (a worker's end state, a retry's attempt, a
/// retry by hand); a statement run by hand outside the store is not seen.
///
/// ```swift
/// SQLiteMigration("totals-by-store", sql: "DROP TRIGGER totals_update;", outputHook: OutputHook(
///     marker: #""usage""#,
///     sql: "INSERT INTO totals (batch_id, n) VALUES (?1, length(?3) - length(?2)) ON CONFLICT …"))
/// ```
public struct OutputHook: Sendable {
    /// Outputs without this text (in both the old and the new) are skipped.
    public var marker: String
    /// One statement; `?1` the batch, `?2` the old output, `?3` the new one.
    public var sql: String

    public init(marker: String, sql: String) {
        self.marker = marker
        self.sql = sql
    }

    /// Whether `output` contains the marker.
    func matches(_ output: String?) -> Bool {
        guard let output else { return false }
        return ByteSearch.contains(marker, in: output)
    }
}
