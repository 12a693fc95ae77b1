import Foundation

/// A fresh directory under the system's temporary directory (or under `base`), removed with `remove()`.
///
/// ```swift
/// let directory = try TemporaryDirectory()
/// defer { directory.remove() }
/// // Somewhere a private /tmp would not hide it, for sandbox tests:
/// let home = try TemporaryDirectory(prefix: ".agentq-test", under: FileManager.default.homeDirectoryForCurrentUser)
/// ```
public struct TemporaryDirectory: Sendable {
    public let url: URL
    public var path: String { url.path }

    /// - throws: when the directory cannot be created.
    public init(prefix: String = "agentq-test", under base: URL? = nil) throws {
        let base = base ?? URL(fileURLWithPath: NSTemporaryDirectory(), isDirectory: true)
        url = base.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }

    /// Writes `text` to a file in this directory and returns its path.
    @discardableResult
    public func write(_ text: String, to name: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }
}
