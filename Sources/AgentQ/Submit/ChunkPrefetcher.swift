import Dispatch

/// Reads and decodes a bulk file's next chunk on another thread while the caller writes the
/// chunk before it, so parsing and SQLite's single writer use both cores instead of taking turns.
///
/// At most one chunk is read ahead: memory stays that of two chunks whatever the file's size.
///
/// ```swift
/// let chunks = ChunkPrefetcher(try BulkFileReader(contentsOf: url))
/// defer { chunks.finish() }
/// while let entries = try chunks.next() { for entry in entries { … } }
/// ```
final class ChunkPrefetcher: @unchecked Sendable {
    // Only one thread touches the reader at a time: the queue's block between `start()` and the
    // semaphore's signal, which `next()` and `finish()` wait for before going on.
    private let reader: BulkFileReader
    private let queue = DispatchQueue(label: "agentq.submit.read-ahead")
    private let ready = DispatchSemaphore(value: 0)
    private var pending: Result<[BulkFileParser.Entry]?, any Error>?
    private var outstanding = false

    init(_ reader: BulkFileReader) {
        self.reader = reader
        start()
    }

    private func start() {
        outstanding = true
        queue.async { [self] in
            pending = Result { try reader.next() }
            ready.signal()
        }
    }

    /// The next chunk's entries, as ``BulkFileReader/next()`` gives them; starts reading the one after.
    /// - throws: what ``BulkFileReader/next()`` throws (``SubmitRejected`` when the input cannot be read).
    func next() throws -> [BulkFileParser.Entry]? {
        guard outstanding else { return nil }
        ready.wait()
        outstanding = false
        let result = pending!
        pending = nil
        if case .success(.some) = result { start() }
        return try result.get()
    }

    /// Waits for a read still running, so nothing reads the input after the caller is done with it.
    func finish() {
        guard outstanding else { return }
        ready.wait()
        outstanding = false
        pending = nil
    }
}
