import Foundation

/// Makes renames in one directory durable with as few `fsync`s of the directory as possible:
/// writers that finish while a sync is running wait for the next one, which then covers all of
/// them (group commit), instead of each syncing the directory on its own.
///
/// ```swift
/// try DirectorySync.shared(for: results.path).sync()   // after rename(2)
/// ```
final class DirectorySync: @unchecked Sendable {
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [String: DirectorySync] = [:]

    /// The syncer of `path`, one per directory in this process.
    static func shared(for path: String) -> DirectorySync {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let existing = registry[path] { return existing }
        let created = DirectorySync(path: path)
        registry[path] = created
        return created
    }

    let path: String
    private let condition = NSCondition()   // guards every var below
    private var requested: UInt64 = 0
    private var completed: UInt64 = 0
    private var syncing = false
    private var failure: (ticket: UInt64, errno: Int32)?

    private init(path: String) { self.path = path }

    /// Returns once a directory fsync that started after this call has finished.
    /// - throws: ``AgentQError`` `.io` naming the directory.
    func sync() throws {
        condition.lock()
        requested += 1
        let ticket = requested
        while completed < ticket {
            if syncing {
                condition.wait()
                continue
            }
            // Cover every request made so far with one fsync.
            syncing = true
            let target = requested
            condition.unlock()
            let error = Self.fsyncDirectory(path)
            condition.lock()
            syncing = false
            completed = target
            if let error { failure = (target, error) }
            condition.broadcast()
        }
        let failed = failure.map { $0.ticket >= ticket } ?? false
        let code = failure?.errno ?? 0
        condition.unlock()
        if failed {
            throw AgentQError(.io, "cannot write \(path) to disk: \(String(cString: strerror(code)))")
        }
    }

    /// - returns: errno when the directory could not be opened or synced.
    private static func fsyncDirectory(_ path: String) -> Int32? {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return errno }
        defer { close(descriptor) }
        return fsync(descriptor) == 0 ? nil : errno
    }
}
