import AgentQ
import Foundation
import JobQueue

/// An agentq home in a temporary directory, with its queue opened.
///
/// ```swift
/// let test = try TestQueue()
/// defer { test.remove() }
/// try test.queue.submit(Data(lines.utf8), options: SubmitOptions(source: "t.jsonl"))
/// ```
public final class TestQueue: Sendable {
    public let directory: TemporaryDirectory
    public let home: AgentQHome
    public let queue: AgentQueue

    public init() throws {
        directory = try TemporaryDirectory(prefix: "agentq-home")
        home = AgentQHome(root: directory.url)
        queue = try AgentQueue(home: home)
    }

    public var store: any JobStore { queue.store }

    /// Opens a second, independent connection to the same database, as another process would.
    public func openAnotherStore() throws -> SQLiteJobStore {
        SQLiteJobStore(database: try SQLiteDatabase(
            path: home.databasePath, migrations: AgentQueue.migrations))
    }

    /// The names of the result files written so far.
    public func resultFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: home.resultsDirectory.path)
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .sorted()
    }

    /// A result file, decoded.
    public func result(jobID: String) throws -> [String: Any] {
        let data = try Data(contentsOf: home.resultFile(jobID: jobID))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    public func remove() { directory.remove() }
}
