import NIOPosix

/// Runs a blocking library call (SQLite, the file system) on a thread pool, never on the
/// event loop that serves other connections.
///
/// ```swift
/// let job = try await blocking { try queue.store.job(id: id) }
/// ```
/// - throws: what `body` throws.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingPool.shared.runIfActive(body)
}

enum BlockingPool {
    /// Sized for SQLite: its writes take turns anyway, and reads are short.
    static let shared: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()
}
