import JobQueue

/// What describes the files of the OpenAI Files API (name, purpose, size), kept in the queue's
/// database while ``OpenAIFileStore`` keeps their bytes on disk: ``SQLiteOpenAIFileMetadataStore``
/// in a home, ``PostgresOpenAIFileMetadataStore`` in a database many hosts share.
///
/// ```swift
/// let metadata: any OpenAIFileMetadataStore = SQLiteOpenAIFileMetadataStore(database: queue.database)
/// try metadata.record(OpenAIFile(id: "file-1", filename: "in.jsonl", purpose: "batch", bytes: 120, createdAt: .now))
/// ```
public protocol OpenAIFileMetadataStore: Sendable {
    /// Records a file, replacing the one of the same ID.
    /// - throws: a ``JobQueue/StoreError``.
    func record(_ file: OpenAIFile) throws

    /// - throws: a ``JobQueue/StoreError``.
    func file(id: String) throws -> OpenAIFile?

    /// Files newest first (by ID), of `purpose` when given, those before `after` (an ID) when given.
    /// - throws: a ``JobQueue/StoreError``.
    func files(purpose: String?, limit: Int, after: String?) throws -> [OpenAIFile]

    /// Forgets a file.
    /// - returns: whether there was such a file.
    /// - throws: a ``JobQueue/StoreError``.
    func delete(id: String) throws -> Bool
}
