import GRDB
import JobQueue

/// The OpenAI files' metadata in the `openai_files` table of a home's database (see
/// ``OpenAIFileMetadataStore``).
///
/// ```swift
/// let files = OpenAIFileStore(metadata: SQLiteOpenAIFileMetadataStore(database: queue.database), directory: directory)
/// ```
public final class SQLiteOpenAIFileMetadataStore: OpenAIFileMetadataStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-openai-files", sql: """
            CREATE TABLE openai_files (
                id TEXT PRIMARY KEY NOT NULL,
                filename TEXT NOT NULL,
                purpose TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                created_at INTEGER NOT NULL
            );
            """),
    ]

    public func record(_ file: OpenAIFile) throws {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(
                sql: "INSERT OR REPLACE INTO openai_files (id, filename, purpose, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [file.id, file.filename, file.purpose, file.bytes, file.createdAt.milliseconds])
        }
    }

    public func file(id: String) throws -> OpenAIFile? {
        try database.read(retryTransient: true) { db in
            try Row.fetchOne(
                db, sql: "SELECT id, filename, purpose, bytes, created_at FROM openai_files WHERE id = ?", arguments: [id]
            ).map(Self.file(from:))
        }
    }

    public func files(purpose: String?, limit: Int, after: String?) throws -> [OpenAIFile] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT id, filename, purpose, bytes, created_at FROM openai_files
                WHERE (?1 IS NULL OR purpose = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3
                """, arguments: [purpose, after, limit]
            ).map(Self.file(from:))
        }
    }

    public func delete(id: String) throws -> Bool {
        try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "DELETE FROM openai_files WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    private static func file(from row: Row) -> OpenAIFile {
        OpenAIFile(id: row[0], filename: row[1], purpose: row[2], bytes: row[3], createdAt: Timestamp(milliseconds: row[4]))
    }
}
