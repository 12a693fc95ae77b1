import Foundation
import GRDB
import JobQueue

/// The files of the OpenAI Files API: their bytes in a directory of the home, one file each,
/// and what describes them in the `openai_files` table.
///
/// A file is written to a temporary name first and renamed into place, so a reader never sees
/// half a file, and writing the same ID again (a batch finalized twice) replaces it whole.
///
/// ```swift
/// let files = OpenAIFileStore(database: queue.database, directory: queue.home.root.appendingPathComponent("files"))
/// let upload = try files.makeTemporaryURL()
/// try data.write(to: upload)
/// let file = try files.add(temporaryFile: upload, filename: "requests.jsonl", purpose: "batch")
/// ```
public final class OpenAIFileStore: Sendable {
    public let database: SQLiteDatabase
    public let directory: URL

    public init(database: SQLiteDatabase, directory: URL) {
        self.database = database
        self.directory = directory
    }

    /// The files of `home`, in `files/` of it.
    public convenience init(queue: AgentQueue) {
        // AgentQueue opens PostgreSQL only with every store it needs, so this is SQLite.
        self.init(database: queue.sqliteDatabase!, directory: queue.home.root.appendingPathComponent("files", isDirectory: true))
    }

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

    /// A new path in the files directory to write a file to before ``add(temporaryFile:id:filename:purpose:)``.
    /// - throws: ``AgentQError`` `.io` when the directory cannot be made.
    public func makeTemporaryURL() throws -> URL {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentQError(.io, "cannot create \(directory.path): \(error.localizedDescription)")
        }
        return directory.appendingPathComponent(".partial-\(UUID().uuidString)")
    }

    /// Moves a finished temporary file into place and records it (replacing a file of the same ID).
    /// - throws: ``AgentQError`` `.io`, or a ``JobQueue/StoreError``; the temporary file is removed either way.
    @discardableResult
    public func add(
        temporaryFile: URL, id: String = SortableID.make(prefix: "file-"), filename: String, purpose: String
    ) throws -> OpenAIFile {
        defer { try? FileManager.default.removeItem(at: temporaryFile) }
        let size: Int
        do {
            size = (try FileManager.default.attributesOfItem(atPath: temporaryFile.path)[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw AgentQError(.io, "cannot read \(temporaryFile.path): \(error.localizedDescription)")
        }
        let file = OpenAIFile(id: id, filename: filename, purpose: purpose, bytes: size, createdAt: .now)
        guard rename(temporaryFile.path, contentURL(id: id).path) == 0 else {
            throw AgentQError(.io, "cannot move \(temporaryFile.path) into place: \(String(cString: strerror(errno)))")
        }
        try database.write(retryTransient: true) { db, _ in
            try db.execute(
                sql: "INSERT OR REPLACE INTO openai_files (id, filename, purpose, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [file.id, file.filename, file.purpose, file.bytes, file.createdAt.milliseconds])
        }
        return file
    }

    /// - throws: a ``JobQueue/StoreError``.
    public func file(id: String) throws -> OpenAIFile? {
        try database.read(retryTransient: true) { db in
            try Row.fetchOne(
                db, sql: "SELECT id, filename, purpose, bytes, created_at FROM openai_files WHERE id = ?", arguments: [id]
            ).map(Self.file(from:))
        }
    }

    /// Files newest first, those before `after` (an ID) when given.
    /// - throws: a ``JobQueue/StoreError``.
    public func files(purpose: String? = nil, limit: Int, after: String? = nil) throws -> [OpenAIFile] {
        try database.read(retryTransient: true) { db in
            try Row.fetchAll(db, sql: """
                SELECT id, filename, purpose, bytes, created_at FROM openai_files
                WHERE (?1 IS NULL OR purpose = ?1) AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3
                """, arguments: [purpose, after, limit]
            ).map(Self.file(from:))
        }
    }

    /// Where the bytes of the file with this ID are (IDs come from this store, never from a client's path).
    public func contentURL(id: String) -> URL { directory.appendingPathComponent("\(id).jsonl") }

    /// Forgets a file and removes its bytes.
    /// - returns: whether there was such a file.
    /// - throws: a ``JobQueue/StoreError``.
    public func delete(id: String) throws -> Bool {
        let deleted = try database.write(retryTransient: true) { db, _ in
            try db.execute(sql: "DELETE FROM openai_files WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
        if deleted { try? FileManager.default.removeItem(at: contentURL(id: id)) }
        return deleted
    }

    private static func file(from row: Row) -> OpenAIFile {
        OpenAIFile(id: row[0], filename: row[1], purpose: row[2], bytes: row[3], createdAt: Timestamp(milliseconds: row[4]))
    }
}
