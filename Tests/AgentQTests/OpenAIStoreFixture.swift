import AgentQ
import AgentQTesting
import Foundation
import JobQueue

/// The OpenAI batch and file-metadata stores of one driver on a fresh database, and as many
/// more "hosts" (each with connections of its own) on that same database as a test asks for.
///
/// ```swift
/// let fixture = try OpenAIStoreFixture(.postgres)
/// defer { fixture.remove() }
/// let (batches, files) = try fixture.openHost()
/// ```
final class OpenAIStoreFixture: Sendable {
    let driver: StoreDriver
    private let test: TestQueue
    private let url: String?

    init(_ driver: StoreDriver) throws {
        self.driver = driver
        test = try TestQueue()
        url = try driver.databaseURL()
    }

    /// A directory for file contents.
    var filesDirectory: URL { test.home.root.appendingPathComponent("files", isDirectory: true) }

    /// The stores of one more process (SQLite) or host (PostgreSQL) on the fixture's database.
    /// - throws: when the database cannot be opened.
    func openHost() throws -> (batches: any OpenAIBatchStore, files: any OpenAIFileMetadataStore) {
        if let url {
            let database = try PGDatabase(
                location: try PostgresLocation(url: url),
                migrations: PostgresOpenAIBatchStore.migrations + PostgresOpenAIFileMetadataStore.migrations)
            return (PostgresOpenAIBatchStore(database: database), PostgresOpenAIFileMetadataStore(database: database))
        }
        let database = try SQLiteDatabase(path: test.home.databasePath, migrations: AgentQueue.migrations)
        return (SQLiteOpenAIBatchStore(database: database), SQLiteOpenAIFileMetadataStore(database: database))
    }

    func remove() { test.remove() }
}
