import Foundation

extension String {
    /// Whether the text holds a NUL character (`\u0000`). agentq refuses such text where a user
    /// hands it in: SQLite's readers end a text value at its first NUL, so the rest would
    /// silently vanish, and PostgreSQL refuses it.
    ///
    /// ```swift
    /// guard !message.containsNUL else { throw AgentQError(.invalidInput, "…") }
    /// ```
    var containsNUL: Bool {
        var text = self
        return text.withUTF8 { bytes in bytes.baseAddress.map { memchr($0, 0, bytes.count) != nil } ?? false }
    }
}
