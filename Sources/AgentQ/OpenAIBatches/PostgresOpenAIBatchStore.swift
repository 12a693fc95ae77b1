import Foundation
import JobQueue
import PostgresNIO

/// OpenAI batches in a PostgreSQL database many hosts share: the twin of
/// ``SQLiteOpenAIBatchStore``, same tables, same conditional UPDATEs (see ``OpenAIBatchStore``).
///
/// Every time it stores or compares is moved onto the database's clock, so a finalization lease
/// taken on one host is not stolen early by a host whose clock runs ahead.
///
/// ```swift
/// let database = try PGDatabase(location: location, migrations: PostgresOpenAIBatchStore.migrations)
/// let store = PostgresOpenAIBatchStore(database: database)
/// let batch = try store.batch(id: "batch_01jd…")
/// ```
public final class PostgresOpenAIBatchStore: OpenAIBatchStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    /// IDs and names compare byte by byte (`COLLATE "C"`), as SQLite's do: paging by `after`
    /// must not depend on the server's locale.
    public static let migrations: [PGMigration] = [
        PGMigration("openai-batches-1", """
            CREATE TABLE openai_batches (
                id text COLLATE "C" PRIMARY KEY,
                input_file_id text NOT NULL,
                endpoint text NOT NULL,
                completion_window text NOT NULL,
                metadata text,
                fallback_agent text,
                jobs_batch_id text,
                status text NOT NULL,
                errors text,
                output_file_id text,
                error_file_id text,
                total bigint NOT NULL DEFAULT 0,
                completed bigint NOT NULL DEFAULT 0,
                failed bigint NOT NULL DEFAULT 0,
                rejected bigint NOT NULL DEFAULT 0,
                created_at bigint NOT NULL,
                in_progress_at bigint,
                finalizing_at bigint,
                completed_at bigint,
                failed_at bigint,
                cancelling_at bigint,
                cancelled_at bigint,
                expires_at bigint,
                lease_until bigint
            );
            CREATE INDEX openai_batches_unfinished ON openai_batches (status)
                WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');
            CREATE TABLE openai_batch_rejected_lines (
                batch_id text NOT NULL,
                line bigint NOT NULL,
                custom_id text NOT NULL,
                model text,
                PRIMARY KEY (batch_id, line)
            );
            """),
    ]

    private static let columns = """
        id, input_file_id, endpoint, completion_window, metadata, fallback_agent, jobs_batch_id, status, errors,
        output_file_id, error_file_id, total, completed, failed, rejected, created_at, in_progress_at, finalizing_at,
        completed_at, failed_at, cancelling_at, cancelled_at, expires_at
        """

    private func time(_ hostTime: Timestamp) -> Int64 { database.databaseTime(for: hostTime).milliseconds }

    public func insert(_ batch: OpenAIBatch, leaseUntil: Timestamp) throws {
        let createdAt = time(batch.createdAt), expiresAt = batch.expiresAt.map(time), lease = time(leaseUntil)
        _ = try database.write { connection in
            try connection.execute("""
                INSERT INTO openai_batches (id, input_file_id, endpoint, completion_window, metadata, fallback_agent,
                    jobs_batch_id, status, created_at, expires_at, lease_until)
                VALUES (\(batch.id), \(batch.inputFileID), \(batch.endpoint), \(batch.completionWindow), \(batch.metadata),
                    \(batch.fallbackAgent), \(batch.jobsBatchID), \(batch.status.rawValue), \(createdAt), \(expiresAt), \(lease))
                """)
        }
    }

    public func start(
        id: String, jobsBatchID: String?, total: Int, rejected: [OpenAIRejectedLine], now: Timestamp
    ) throws -> OpenAIBatchStatus? {
        let now = time(now)
        return try database.write { connection in
            if !rejected.isEmpty {
                // One statement for every line, however many found no agent.
                let lines = rejected.map { Int64($0.line) }, customIDs = rejected.map(\.customID)
                let models = rejected.map { $0.model ?? "" }, hasModel = rejected.map { $0.model != nil }
                try connection.execute("""
                    INSERT INTO openai_batch_rejected_lines (batch_id, line, custom_id, model)
                    SELECT \(id), line, custom_id, CASE WHEN has_model THEN model END
                    FROM unnest(\(lines)::bigint[], \(customIDs)::text[], \(models)::text[], \(hasModel)::boolean[])
                        AS r(line, custom_id, model, has_model)
                    ON CONFLICT (batch_id, line) DO UPDATE SET custom_id = excluded.custom_id, model = excluded.model
                    """)
            }
            try connection.execute("""
                UPDATE openai_batches SET jobs_batch_id = \(jobsBatchID), total = \(total), rejected = \(rejected.count),
                    failed = \(rejected.count), in_progress_at = \(now), lease_until = NULL,
                    status = CASE status WHEN 'validating' THEN 'in_progress' ELSE status END
                WHERE id = \(id) AND status IN ('validating', 'cancelling')
                """)
            return try connection.scalar("SELECT status FROM openai_batches WHERE id = \(id)", as: String.self)
                .flatMap(OpenAIBatchStatus.init(rawValue:))
        }
    }

    public func fail(id: String, errors: [OpenAIBatchLineError], now: Timestamp) throws {
        let text = OpenAIBatchLineError.jsonList(errors), now = time(now)
        _ = try database.write { connection in
            try connection.execute("""
                UPDATE openai_batches SET status = 'failed', errors = \(text), failed_at = \(now), lease_until = NULL
                WHERE id = \(id) AND status IN ('validating', 'cancelling')
                """)
        }
    }

    public func failAbandonedValidations(now: Timestamp) throws -> [String] {
        let error = OpenAIBatchLineError(code: "validation_interrupted", message: "the server stopped while validating the input file")
        let text = OpenAIBatchLineError.jsonList([error]), now = time(now)
        return try database.write { connection in
            try connection.query("""
                UPDATE openai_batches SET status = 'failed', errors = \(text), failed_at = \(now), lease_until = NULL
                WHERE status = 'validating' AND lease_until < \(now)
                RETURNING jobs_batch_id
                """).compactMap { try $0.decode(String?.self) }
        }
    }

    public func requestCancel(id: String, now: Timestamp) throws -> Bool {
        let now = time(now)
        return try database.write { connection in
            try connection.execute("""
                UPDATE openai_batches SET status = 'cancelling', cancelling_at = \(now)
                WHERE id = \(id) AND status IN ('validating', 'in_progress')
                """) > 0
        }
    }

    public func claimFinalization(id: String, now: Timestamp, leaseMilliseconds: Int64) throws -> OpenAIBatch? {
        let now = time(now), until = now + leaseMilliseconds
        return try database.write { connection in
            // One UPDATE: of two hosts claiming at once, the second waits on the row lock, then
            // re-reads it (READ COMMITTED) and finds the lease taken.
            try connection.query("""
                UPDATE openai_batches SET lease_until = \(until),
                    finalizing_at = CASE status WHEN 'in_progress' THEN \(now) ELSE finalizing_at END,
                    status = CASE status WHEN 'in_progress' THEN 'finalizing' ELSE status END
                WHERE id = \(id) AND status IN ('in_progress', 'finalizing', 'cancelling')
                    AND (lease_until IS NULL OR lease_until < \(now))
                RETURNING \(unescaped: Self.columns)
                """).first.map(Self.batch(from:))
        }
    }

    public func finish(
        id: String, outputFileID: String?, errorFileID: String?, completed: Int, failed: Int, now: Timestamp
    ) throws {
        let now = time(now)
        _ = try database.write { connection in
            try connection.execute("""
                UPDATE openai_batches SET output_file_id = \(outputFileID), error_file_id = \(errorFileID),
                    completed = \(completed), failed = \(failed), total = \(completed + failed), lease_until = NULL,
                    completed_at = CASE status WHEN 'cancelling' THEN completed_at ELSE \(now) END,
                    cancelled_at = CASE status WHEN 'cancelling' THEN \(now) ELSE cancelled_at END,
                    status = CASE status WHEN 'cancelling' THEN 'cancelled' ELSE 'completed' END
                WHERE id = \(id) AND status IN ('finalizing', 'cancelling')
                """)
        }
    }

    public func batch(id: String) throws -> OpenAIBatch? {
        try database.read { connection in
            try connection.query("SELECT \(unescaped: Self.columns) FROM openai_batches WHERE id = \(id)")
                .first.map(Self.batch(from:))
        }
    }

    public func batches(limit: Int, after: String?) throws -> [OpenAIBatch] {
        try database.read { connection in
            try connection.query("""
                SELECT \(unescaped: Self.columns) FROM openai_batches WHERE (\(after)::text IS NULL OR id < \(after))
                ORDER BY id DESC LIMIT \(limit)
                """).map(Self.batch(from:))
        }
    }

    public func unfinishedIDs() throws -> [String] {
        try database.read { connection in
            try connection.query("""
                SELECT id FROM openai_batches WHERE status IN ('in_progress', 'finalizing', 'cancelling') ORDER BY id
                """).map { try $0.decode(String.self) }
        }
    }

    public func rejectedLines(batchID: String) throws -> [OpenAIRejectedLine] {
        try database.read { connection in
            try connection.query("""
                SELECT line, custom_id, model FROM openai_batch_rejected_lines WHERE batch_id = \(batchID) ORDER BY line
                """).map { row in
                let (line, customID, model) = try row.decode((Int, String, String?).self)
                return OpenAIRejectedLine(line: line, customID: customID, model: model)
            }
        }
    }

    private static func batch(from row: PostgresRow) throws -> OpenAIBatch {
        let (id, inputFileID, endpoint, window, metadata, fallback, jobsBatchID, status, errors, outputFileID, errorFileID,
             total, completed, failed, rejected, createdAt, inProgressAt, finalizingAt, completedAt, failedAt, cancellingAt,
             cancelledAt, expiresAt) = try row.decode(
            (String, String, String, String, String?, String?, String?, String, String?, String?, String?,
             Int, Int, Int, Int, Int64, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?).self)
        func time(_ milliseconds: Int64?) -> Timestamp? { milliseconds.map(Timestamp.init(milliseconds:)) }
        var batch = OpenAIBatch(
            id: id, inputFileID: inputFileID, endpoint: endpoint, completionWindow: window, metadata: metadata,
            fallbackAgent: fallback, jobsBatchID: jobsBatchID, status: OpenAIBatchStatus(rawValue: status) ?? .failed,
            createdAt: Timestamp(milliseconds: createdAt))
        if let errors { batch.errors = OpenAIBatchLineError.list(fromJSON: errors) }
        batch.outputFileID = outputFileID
        batch.errorFileID = errorFileID
        batch.total = total
        batch.completed = completed
        batch.failed = failed
        batch.rejected = rejected
        batch.inProgressAt = time(inProgressAt)
        batch.finalizingAt = time(finalizingAt)
        batch.completedAt = time(completedAt)
        batch.failedAt = time(failedAt)
        batch.cancellingAt = time(cancellingAt)
        batch.cancelledAt = time(cancelledAt)
        batch.expiresAt = time(expiresAt)
        return batch
    }
}
