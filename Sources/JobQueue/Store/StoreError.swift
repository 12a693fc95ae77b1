/// An error from a ``JobStore``, with a code a caller can `catch` on.
///
/// ```swift
/// do { try store.enqueue(batch: nil) { ... } }
/// catch let error as StoreError where error.code == .cannotOpen { ... }
/// ```
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case cannotOpen = "cannot_open"
        case schemaTooNew = "schema_too_new"
        /// The file is not an SQLite database (or not one agentq can read).
        case notADatabase = "not_a_database"
        /// The database or its directory cannot be written.
        case readOnly = "read_only"
        /// The disk (or quota) holding the database is full.
        case diskFull = "disk_full"
        /// Another process held the database's lock for longer than the busy timeout.
        case busy
        /// SQLite found the file damaged.
        case corrupt
        /// The operating system failed a read or write.
        case io
        case database
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying again later may succeed: a lock held too long, or an I/O error.
    public var isTransient: Bool { code == .busy || code == .io }

    public var description: String { message }
}
