import Foundation
import Logging
import NIOCore
import PostgresNIO

/// One PostgreSQL connection lent by ``PGDatabase`` to a single caller: synchronous queries,
/// for the engine's Dispatch threads.
///
/// It waits on the connection's event loop from the calling thread, so it must never be used
/// from an event loop (a Hummingbird route runs store calls in its thread pool).
///
/// ```swift
/// try database.write { connection in
///     let rows = try connection.query("SELECT id FROM jobs WHERE seq = \(seq)")
///     try connection.execute("UPDATE jobs SET status = 'queued' WHERE seq = \(seq)")
/// }
/// ```
public final class PGConnection: @unchecked Sendable {
    let connection: PostgresConnection
    let location: PostgresLocation
    private let logger: Logger
    /// Set when a query failed in a way that leaves the connection unusable: the pool drops it.
    private(set) var isBroken = false

    init(connection: PostgresConnection, location: PostgresLocation, logger: Logger) {
        self.connection = connection
        self.location = location
        self.logger = logger
    }

    /// Runs one statement and returns every row.
    /// - throws: ``StoreError`` (the server's message and SQLSTATE, never the query's values).
    @discardableResult
    public func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) throws -> [PostgresRow] {
        try run { try connection.query(query, logger: logger, file: file, line: line).wait().rows }
    }

    /// Runs one statement and returns how many rows it inserted, updated or deleted.
    /// - throws: ``StoreError``.
    @discardableResult
    public func execute(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) throws -> Int {
        try run { try connection.query(query, logger: logger, file: file, line: line).wait().metadata.rows ?? 0 }
    }

    /// Runs several statements separated by `;` with no parameters (migrations, BEGIN/COMMIT),
    /// one after the other: postgres-nio speaks only the extended protocol, which takes one
    /// statement at a time.
    /// - throws: ``StoreError``.
    public func run(script: String) throws {
        for statement in Self.statements(of: script) {
            try run { _ = try connection.simpleQuery(statement).wait() }
        }
    }

    /// The statements of a script: split at each `;` that is not inside a quoted string, a
    /// quoted identifier, a dollar-quoted body or a comment.
    static func statements(of script: String) -> [String] {
        var statements: [String] = []
        var current = ""
        let characters = Array(script)
        var index = 0
        func flush() {
            let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty && !trimmed.split(separator: "\n").allSatisfy({ $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }) {
                statements.append(trimmed)
            }
            current = ""
        }
        while index < characters.count {
            let character = characters[index]
            if character == "-" && index + 1 < characters.count && characters[index + 1] == "-" {
                while index < characters.count && characters[index] != "\n" { current.append(characters[index]); index += 1 }
                continue
            }
            if character == "'" || character == "\"" {
                current.append(character)
                index += 1
                while index < characters.count {
                    current.append(characters[index])
                    index += 1
                    if characters[index - 1] == character { break }
                }
                continue
            }
            if character == "$", let end = characters[(index + 1)...].firstIndex(of: "$"),
                characters[(index + 1)..<end].allSatisfy({ $0.isLetter || $0 == "_" })
            {
                let tag = String(characters[index...end])
                current += tag
                index = end + 1
                let rest = String(characters[index...])
                if let close = rest.range(of: tag) {
                    let body = rest[..<close.upperBound]
                    current += body
                    index += body.count
                } else {
                    current += rest
                    index = characters.count
                }
                continue
            }
            if character == ";" {
                flush()
            } else {
                current.append(character)
            }
            index += 1
        }
        flush()
        return statements
    }

    /// The first column of the first row, or nil when there is no row or it is NULL.
    /// - throws: ``StoreError``, or when the column is not a `T`.
    public func scalar<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self,
                                             file: String = #fileID, line: Int = #line) throws -> T?
    where T == T._DecodableType {
        guard let row = try self.query(query, file: file, line: line).first else { return nil }
        return try row.decode(T?.self)
    }

    /// Closes the connection (the future-returning `close`, not the async one).
    func closeFuture() -> EventLoopFuture<Void> {
        let future: EventLoopFuture<Void> = connection.close()
        return future
    }

    private func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PSQLError {
            let storeError = StoreError(postgres: error, location: location)
            if error.code != .server { isBroken = true }
            throw storeError
        } catch let error as StoreError {
            throw error
        } catch {
            isBroken = true
            throw StoreError(.io, "\(location): \(error)")
        }
    }
}
