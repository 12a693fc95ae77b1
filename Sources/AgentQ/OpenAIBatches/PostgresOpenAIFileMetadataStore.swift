import JobQueue
import PostgresNIO

/// The OpenAI files' metadata in a PostgreSQL database many hosts share: the twin of
/// ``SQLiteOpenAIFileMetadataStore``. The bytes stay in the files directory of the host that
/// received the upload or wrote the batch's output (see ``OpenAIFileStore``).
///
/// ```swift
/// let database = try PGDatabase(location: location, migrations: PostgresOpenAIFileMetadataStore.migrations)
/// let files = OpenAIFileStore(metadata: PostgresOpenAIFileMetadataStore(database: database), directory: directory)
/// ```
public final class PostgresOpenAIFileMetadataStore: OpenAIFileMetadataStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    /// IDs compare byte by byte (`COLLATE "C"`), as SQLite's do, whatever the server's locale.
    public static let migrations: [PGMigration] = [
        PGMigration("openai-files-1", """
            CREATE TABLE openai_files (
                id text COLLATE "C" PRIMARY KEY,
                filename text NOT NULL,
                purpose text NOT NULL,
                bytes bigint NOT NULL,
                created_at bigint NOT NULL
            );
            """),
    ]

    public func record(_ file: OpenAIFile) throws {
        let createdAt = database.databaseTime(for: file.createdAt).milliseconds
        _ = try database.write { connection in
            try connection.execute("""
                INSERT INTO openai_files (id, filename, purpose, bytes, created_at)
                VALUES (\(file.id), \(file.filename), \(file.purpose), \(file.bytes), \(createdAt))
                ON CONFLICT (id) DO UPDATE SET filename = excluded.filename, purpose = excluded.purpose,
                    bytes = excluded.bytes, created_at = excluded.created_at
                """)
        }
    }

    public func file(id: String) throws -> OpenAIFile? {
        try database.read { connection in
            try connection.query("SELECT id, filename, purpose, bytes, created_at FROM openai_files WHERE id = \(id)")
                .first.map(Self.file(from:))
        }
    }

    public func files(purpose: String?, limit: Int, after: String?) throws -> [OpenAIFile] {
        try database.read { connection in
            try connection.query("""
                SELECT id, filename, purpose, bytes, created_at FROM openai_files
                WHERE (\(purpose)::text IS NULL OR purpose = \(purpose)) AND (\(after)::text IS NULL OR id < \(after))
                ORDER BY id DESC LIMIT \(limit)
                """).map(Self.file(from:))
        }
    }

    public func delete(id: String) throws -> Bool {
        try database.write { connection in try connection.execute("DELETE FROM openai_files WHERE id = \(id)") > 0 }
    }

    private static func file(from row: PostgresRow) throws -> OpenAIFile {
        let (id, filename, purpose, bytes, createdAt) = try row.decode((String, String, String, Int, Int64).self)
        return OpenAIFile(id: id, filename: filename, purpose: purpose, bytes: bytes, createdAt: Timestamp(milliseconds: createdAt))
    }
}
