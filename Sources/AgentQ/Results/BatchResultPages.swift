import JobQueue

/// A batch's result documents as JSONL, in input order, a page at a time: `agentq batch
/// results` and `GET /batches/{id}/results` write each page and forget it, so memory stays
/// that of one page whatever the batch's size.
///
/// ```swift
/// let pages = BatchResultPages(store: queue.store, batchID: id)
/// var after: Int64? = nil
/// repeat {
///     let page = try pages.page(after: after)
///     write(page.bytes)
///     after = page.next
/// } while after != nil
/// ```
public struct BatchResultPages: Sendable {
    public let store: any JobStore
    public let batchID: String
    public let pageSize: Int

    public init(store: any JobStore, batchID: String, pageSize: Int = 2000) {
        self.store = store
        self.batchID = batchID
        self.pageSize = max(pageSize, 1)
    }

    /// One ``ResultDocument`` line per job after the job of sequence number `after` (from the
    /// first with nil), and the cursor of the next page (nil after the last).
    /// - throws: a ``JobQueue/StoreError``.
    public func page(after: Int64?) throws -> (bytes: [UInt8], next: Int64?) {
        let jobs = try store.jobs(matching: JobFilter(batchID: batchID, afterSeq: after, limit: pageSize))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(jobs.count * 600)
        for job in jobs {
            bytes.append(contentsOf: ResultDocument.bytes(for: job))
            bytes.append(0x0A)
        }
        return (bytes, jobs.count == pageSize ? jobs.last?.seq : nil)
    }
}
