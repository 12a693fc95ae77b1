import Foundation
import JobQueue

/// Which database holds a queue's state: the home's SQLite file (one host, the default) or a
/// PostgreSQL database that many hosts share.
///
/// Picked from `--database URL`, else `AGENTQ_DATABASE_URL`, else SQLite.
///
/// ```swift
/// let choice = try QueueDatabaseChoice.resolve(explicit: nil)   // .sqlite unless AGENTQ_DATABASE_URL is set
/// let queue = try AgentQueue(home: home, database: choice)
/// ```
public enum QueueDatabaseChoice: Sendable, Hashable, CustomStringConvertible {
    /// `<home>/agentq.db`.
    case sqlite
    /// A PostgreSQL database (its URL's password is never printed).
    case postgres(PostgresLocation)

    /// Reads the choice from an explicit URL (`--database`), else `AGENTQ_DATABASE_URL`.
    /// - throws: ``JobQueue/StoreError`` `.cannotOpen` naming the URL (without its password) when
    ///   it does not parse, or when `AGENTQ_DATABASE_URL` is set but empty.
    public static func resolve(
        explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> QueueDatabaseChoice {
        if let explicit {
            guard !explicit.isEmpty else { throw StoreError(.cannotOpen, "--database is empty: give a postgres:// URL") }
            return .postgres(try PostgresLocation(url: explicit))
        }
        if let url = environment["AGENTQ_DATABASE_URL"] {
            guard !url.isEmpty else {
                throw StoreError(.cannotOpen, "AGENTQ_DATABASE_URL is set but empty; unset it (SQLite in the home) or give a postgres:// URL")
            }
            return .postgres(try PostgresLocation(url: url))
        }
        return .sqlite
    }

    public var description: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres(let location): location.description
        }
    }
}
