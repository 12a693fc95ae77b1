import Foundation

/// Serializes the writes of one job's result file across threads and processes.
///
/// Jobs map to one of ``stripes`` stripes by ID: a mutex per stripe orders this process's
/// threads, and an open-file-description lock on one byte of `results/.lock` per stripe orders
/// processes. Two writers of different jobs rarely share a stripe, and then only wait briefly.
///
/// ```swift
/// let lock = ResultFileLock(directory: results.path)
/// defer { lock.close() }
/// try lock.withLock(key: job.id) { try writeTheFile() }
/// ```
final class ResultFileLock {
    static let stripes = 256
    private static let threadLocks = (0..<stripes).map { _ in NSLock() }

    /// The lock file's descriptor, or -1 when it cannot be opened (read-only results: the
    /// write fails on its own, with a clearer message).
    private let descriptor: Int32

    init(directory: String) {
        descriptor = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    }

    func close() {
        if descriptor >= 0 { _ = Foundation.close(descriptor) }
    }

    /// Runs `body` holding `key`'s stripe in this process and in every other one.
    /// - throws: what `body` throws.
    func withLock<T>(key: String, _ body: () throws -> T) throws -> T {
        var hash: UInt32 = 2_166_136_261   // FNV-1a: stable across processes, unlike hashValue
        for byte in key.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let stripe = Int(hash % UInt32(Self.stripes))
        Self.threadLocks[stripe].lock()
        defer { Self.threadLocks[stripe].unlock() }
        let locked = setLock(stripe: stripe, type: Int16(F_WRLCK))
        defer { if locked { _ = setLock(stripe: stripe, type: Int16(F_UNLCK)) } }
        return try body()
    }

    /// Runs `body` holding every stripe, in this process and in every other one: for a group
    /// of jobs, one lock instead of one per job. Stripes are taken in order and a single
    /// stripe's holder never waits for another, so this cannot deadlock with them.
    /// - throws: what `body` throws.
    func withEveryStripe<T>(_ body: () throws -> T) throws -> T {
        for lock in Self.threadLocks { lock.lock() }
        defer { for lock in Self.threadLocks.reversed() { lock.unlock() } }
        let locked = setLock(stripe: 0, count: Self.stripes, type: Int16(F_WRLCK))
        defer { if locked { _ = setLock(stripe: 0, count: Self.stripes, type: Int16(F_UNLCK)) } }
        return try body()
    }

    private func setLock(stripe: Int, count: Int = 1, type: Int16) -> Bool {
        guard descriptor >= 0 else { return false }
        var region = flock()
        region.l_type = type
        region.l_whence = Int16(SEEK_SET)
        region.l_start = off_t(stripe)
        region.l_len = off_t(count)
        #if os(Linux)
        let command: Int32 = 38   // F_OFD_SETLKW: owned by this open file, so per thread here
        #else
        let command = F_SETLKW
        #endif
        while fcntl(descriptor, command, &region) != 0 {
            if errno != EINTR { return false }
        }
        return true
    }
}
