import Foundation
import JobQueue

/// The storage drivers every conformance test runs against, from one source.
///
/// ```swift
/// @Test(arguments: StoreDriver.allCases)
/// func claims(_ driver: StoreDriver) throws {
///     let url = try driver.databaseURL()   // nil for SQLite, a fresh database for PostgreSQL
///     …
/// }
/// ```
public enum StoreDriver: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    /// The `AGENTQ_DATABASE_URL` a home of this driver uses: nil for SQLite (the home's own
    /// file), a new empty database on the test server for PostgreSQL.
    /// - throws: when the PostgreSQL test server cannot be started or reached.
    public func databaseURL() throws -> String? {
        switch self {
        case .sqlite: return nil
        case .postgres: return try PostgresTestServer.freshDatabase()
        }
    }

    public var description: String { rawValue }
}
