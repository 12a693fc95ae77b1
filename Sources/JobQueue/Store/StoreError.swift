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
        case database
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
