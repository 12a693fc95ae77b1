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
        /// Another process held the database's write lock for longer than the busy timeout.
        case busy
        /// The file system failed a read or a write (it may come back).
        case ioError = "io_error"
        case database
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Whether trying again later may succeed: a lock held too long, or an I/O error.
    public var isTransient: Bool { code == .busy || code == .ioError }

    public var description: String { message }
}
