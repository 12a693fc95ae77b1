import Foundation
import GRDB
import JobQueue

/// OpenAI batches in the `openai_batches` table of a home's database, and their
/// `model_not_found` lines in `openai_batch_rejected_lines` (see ``OpenAIBatchStore``).
///
/// ```swift
/// let store = SQLiteOpenAIBatchStore(database: queue.database)
/// let batch = try store.batch(id: "batch_01jd…")
/// ```
public final class SQLiteOpenAIBatchStore: OpenAIBatchStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-openai-batches", sql: """
            CREATE TABLE openai_batches (
                id TEXT PRIMARY KEY NOT NULL,
                input_file_id TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                completion_window TEXT NOT NULL,
                metadata TEXT,
                fallback_agent TEXT,
                jobs_batch_id TEXT,
                status TEXT NOT NULL,
                errors TEXT,
                output_file_id TEXT,
                error_file_id TEXT,
                total INTEGER NOT NULL DEFAULT 0,
                completed INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                rejected INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL,
                in_progress_at INTEGER,
                finalizing_at INTEGER,
                completed_at INTEGER,
                failed_at INTEGER,
                cancelling_at INTEGER,
                cancelled_at INTEGER,
                expires_at INTEGER,
                lease_until INTEGER
            );
            CREATE INDEX openai_batches_unfinished ON openai_batches (status)
                WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
            CREATE TABLE openai_batch_rejected_lines (
                batch_id TEXT NOT NULL,
                line INTEGER NOT NULL,
                custom_id TEXT NOT NULL,
                model TEXT,
                PRIMARY KEY (batch_id, line)
            ) WITHOUT ROWID;
            """),
    ]

    private static let columns = """
        id, input_file_id, endpoint, completion_window, metadata, fallback_agent, jobs_batch_id, status, errors,
        output_file_id, error_file_id, total, completed, failed, rejected, created_at, in_progress_at, finalizing_at,
        completed_at, failed_at, cancelling_at, cancelled_at, expires_at
        """

    /// Records a batch being validated; its lease says until when its creator may take to
    /// validate it, after which ``failAbandonedValidations(now:)`` fails it.
    /// - throws: a ``JobQueue/StoreError``.
    public func insert(_ batch: OpenAIBatch, leaseUntil: Timestamp) throws {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                INSERT INTO openai_batches (id, input_file_id, endpoint, completion_window, metadata, fallback_agent,
                    jobs_batch_id, status, created_at, expires_at, lease_until)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    batch.id, batch.inputFileID, batch.endpoint, batch.completionWindow, batch.metadata,
                    batch.fallbackAgent, batch.jobsBatchID, batch.status.rawValue, batch.createdAt.milliseconds,
                    batch.expiresAt?.milliseconds, leaseUntil.milliseconds,
                ])
        }
    }

    /// The input is valid and its jobs are enqueued: `validating` becomes `in_progress` (a batch
    /// cancelled meanwhile stays `cancelling`).
    /// - parameter jobsBatchID: nil when no line had an agent to run it.
    /// - returns: the status now.
    /// - throws: a ``JobQueue/StoreError``.
    public func start(
        id: String, jobsBatchID: String?, total: Int, rejected: [OpenAIRejectedLine], now: Timestamp
    ) throws -> OpenAIBatchStatus? {
        try database.write(retryTransient: true) { db, _ in
            for line in rejected {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO openai_batch_rejected_lines (batch_id, line, custom_id, model) VALUES (?, ?, ?, ?)",
                    arguments: [id, line.line, line.customID, line.model])
            }
            try db.execute(sql: """
                UPDATE openai_batches SET jobs_batch_id = ?, total = ?, rejected = ?, failed = ?, in_progress_at = ?,
                    lease_until = NULL, status = CASE status WHEN 'validating' THEN 'in_progress' ELSE status END
                WHERE id = ? AND status IN ('validating', 'cancelling')
                """, arguments: [jobsBatchID, total, rejected.count, rejected.count, now.milliseconds, id])
            return try String.fetchOne(db, sql: "SELECT status FROM openai_batches WHERE id = ?", arguments: [id])
                .flatMap(OpenAIBatchStatus.init(rawValue:))
        }
    }

    /// The input file was refused: `failed`, with why.
    /// - throws: a ``JobQueue/StoreError``.
    public func fail(id: String, errors: [OpenAIBatchLineError], now: Timestamp) throws {
        let text = OpenAIBatchLineError.jsonList(errors)
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                UPDATE openai_batches SET status = 'failed', errors = ?, failed_at = ?, lease_until = NULL
                WHERE id = ? AND status IN ('validating', 'cancelling')
                """, arguments: [text, now.milliseconds, id])
        }
    }

    /// Fails the batches whose validation outlived its lease (their creator died).
    /// - returns: the agentq batches they had started, to cancel.
    /// - throws: a ``JobQueue/StoreError``.
    public func failAbandonedValidations(now: Timestamp) throws -> [String] {
        let error = OpenAIBatchLineError(code: "validation_interrupted", message: "the server stopped while validating the input file")
        return try database.write(retryTransient: true) { db, _ in
            let abandoned = try Row.fetchAll(db, sql: """
                SELECT id, jobs_batch_id FROM openai_batches
                WHERE status = 'validating' AND lease_until < ?
                """, arguments: [now.milliseconds])
            for row in abandoned {
                try db.execute(sql: """
                    UPDATE openai_batches SET status = 'failed', errors = ?, failed_at = ?, lease_until = NULL WHERE id = ?
                    """, arguments: [OpenAIBatchLineError.jsonList([error]), now.milliseconds, row[0] as String])
            }
            return abandoned.compactMap { $0[1] as String? }
        }
    }

    /// Asks to cancel a batch that is validating or running.
    /// - returns: whether this call moved it to `cancelling`.
    /// - throws: a ``JobQueue/StoreError``.
    public func requestCancel(id: String, now: Timestamp) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                UPDATE openai_batches SET status = 'cancelling', cancelling_at = ?
                WHERE id = ? AND status IN ('validating', 'in_progress')
                """, arguments: [now.milliseconds, id])
            return db.changesCount > 0
        }
    }

    /// Takes the right to write a batch's output files, for `leaseMilliseconds`: `in_progress`
    /// becomes `finalizing` (a `cancelling` batch stays so). Nil when another process holds it
    /// or the batch is not waiting for its files.
    /// - throws: a ``JobQueue/StoreError``.
    public func claimFinalization(id: String, now: Timestamp, leaseMilliseconds: Int64) throws -> OpenAIBatch? {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                UPDATE openai_batches SET lease_until = ?1,
                    finalizing_at = CASE status WHEN 'in_progress' THEN ?2 ELSE finalizing_at END,
                    status = CASE status WHEN 'in_progress' THEN 'finalizing' ELSE status END
                WHERE id = ?3 AND status IN ('in_progress', 'finalizing', 'cancelling')
                    AND (lease_until IS NULL OR lease_until < ?2)
                """, arguments: [now.milliseconds + leaseMilliseconds, now.milliseconds, id])
            guard db.changesCount > 0 else { return nil }
            return try Self.fetch(id, db)
        }
    }

    /// The files are written: `completed` (or `cancelled` after a cancel), with its final counts.
    /// - throws: a ``JobQueue/StoreError``.
    public func finish(
        id: String, outputFileID: String?, errorFileID: String?, completed: Int, failed: Int, now: Timestamp
    ) throws {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: """
                UPDATE openai_batches SET output_file_id = ?1, error_file_id = ?2, completed = ?3, failed = ?4,
                    total = ?3 + ?4, lease_until = NULL,
                    completed_at = CASE status WHEN 'cancelling' THEN completed_at ELSE ?5 END,
                    cancelled_at = CASE status WHEN 'cancelling' THEN ?5 ELSE cancelled_at END,
                    status = CASE status WHEN 'cancelling' THEN 'cancelled' ELSE 'completed' END
                WHERE id = ?6 AND status IN ('finalizing', 'cancelling')
                """, arguments: [outputFileID, errorFileID, completed, failed, now.milliseconds, id])
        }
    }

    /// - throws: a ``JobQueue/StoreError``.
    public func batch(id: String) throws -> OpenAIBatch? {
        try database.read(retryTransient: true) { db in try Self.fetch(id, db) }
    }

    /// Batches newest first, those created before `after` (an ID) when given.
    /// - throws: a ``JobQueue/StoreError``.
    public func batches(limit: Int, after: String?) throws -> [OpenAIBatch] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM openai_batches WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2
                """, arguments: [after, limit]
            ).map(Self.batch(from:))
        }
    }

    /// The IDs of batches still running or waiting for their files.
    /// - throws: a ``JobQueue/StoreError``.
    public func unfinishedIDs() throws -> [String] {
        try database.read(retryTransient: true) { db in
            try String.fetchAll(db, sql: """
                SELECT id FROM openai_batches WHERE status IN ('in_progress', 'finalizing', 'cancelling') ORDER BY id
                """)
        }
    }

    /// The lines of a batch that found no agent, in file order.
    /// - throws: a ``JobQueue/StoreError``.
    public func rejectedLines(batchID: String) throws -> [OpenAIRejectedLine] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT line, custom_id, model FROM openai_batch_rejected_lines WHERE batch_id = ? ORDER BY line
                """, arguments: [batchID]
            ).map { OpenAIRejectedLine(line: $0[0], customID: $0[1], model: $0[2]) }
        }
    }

    private static func fetch(_ id: String, _ db: Database) throws -> OpenAIBatch? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM openai_batches WHERE id = ?", arguments: [id]).map(batch(from:))
    }

    private static func batch(from row: Row) -> OpenAIBatch {
        func time(_ index: Int) -> Timestamp? { (row[index] as Int64?).map { Timestamp(milliseconds: $0) } }
        var batch = OpenAIBatch(
            id: row[0], inputFileID: row[1], endpoint: row[2], completionWindow: row[3], metadata: row[4],
            fallbackAgent: row[5], jobsBatchID: row[6], status: OpenAIBatchStatus(rawValue: row[7]) ?? .failed,
            createdAt: Timestamp(milliseconds: row[15]))
        if let errors = row[8] as String? { batch.errors = OpenAIBatchLineError.list(fromJSON: errors) }
        batch.outputFileID = row[9]
        batch.errorFileID = row[10]
        batch.total = row[11]
        batch.completed = row[12]
        batch.failed = row[13]
        batch.rejected = row[14]
        batch.inProgressAt = time(16)
        batch.finalizingAt = time(17)
        batch.completedAt = time(18)
        batch.failedAt = time(19)
        batch.cancellingAt = time(20)
        batch.cancelledAt = time(21)
        batch.expiresAt = time(22)
        return batch
    }
}
