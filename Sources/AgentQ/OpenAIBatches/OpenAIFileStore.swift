import Foundation
import JobQueue

/// The files of the OpenAI Files API: their bytes in a directory of the home, one file each,
/// and what describes them in the queue's database (an ``OpenAIFileMetadataStore``).
///
/// With PostgreSQL the metadata is shared by every host but the bytes stay on the host that
/// received the upload or finalized the batch: another host lists the file, and cannot read it.
///
/// A file is written to a temporary name first and renamed into place, so a reader never sees
/// half a file, and writing the same ID again (a batch finalized twice) replaces it whole.
///
/// ```swift
/// let files = OpenAIFileStore(metadata: SQLiteOpenAIFileMetadataStore(database: queue.database),
///                            directory: queue.home.root.appendingPathComponent("files"))
/// let upload = try files.makeTemporaryURL()
/// try data.write(to: upload)
/// let file = try files.add(temporaryFile: upload, filename: "requests.jsonl", purpose: "batch")
/// ```
public final class OpenAIFileStore: Sendable {
    public let metadata: any OpenAIFileMetadataStore
    public let directory: URL

    public init(metadata: any OpenAIFileMetadataStore, directory: URL) {
        self.metadata = metadata
        self.directory = directory
    }

    /// The files of a queue: their bytes in `files/` of its home, what describes them in its database.
    public convenience init(queue: AgentQueue) {
        self.init(metadata: queue.openAIFileMetadata, directory: Self.directory(of: queue.home))
    }

    /// Where a home keeps the files' bytes.
    public static func directory(of home: AgentQHome) -> URL { home.root.appendingPathComponent("files", isDirectory: true) }

    /// The SQLite table of the metadata (``SQLiteOpenAIFileMetadataStore/migrations``).
    public static let migrations = SQLiteOpenAIFileMetadataStore.migrations

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
        try metadata.record(file)
        return file
    }

    /// - throws: a ``JobQueue/StoreError``.
    public func file(id: String) throws -> OpenAIFile? { try metadata.file(id: id) }

    /// Files newest first, those before `after` (an ID) when given.
    /// - throws: a ``JobQueue/StoreError``.
    public func files(purpose: String? = nil, limit: Int, after: String? = nil) throws -> [OpenAIFile] {
        try metadata.files(purpose: purpose, limit: limit, after: after)
    }

    /// Where the bytes of the file with this ID are (IDs come from this store, never from a client's path).
    public func contentURL(id: String) -> URL { directory.appendingPathComponent("\(id).jsonl") }

    /// Forgets a file and removes its bytes.
    /// - returns: whether there was such a file.
    /// - throws: a ``JobQueue/StoreError``.
    public func delete(id: String) throws -> Bool {
        let deleted = try metadata.delete(id: id)
        if deleted { try? FileManager.default.removeItem(at: contentURL(id: id)) }
        return deleted
    }
}
