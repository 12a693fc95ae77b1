import JobQueue

extension AgentQueue {
    /// The job with this ID, or an error saying it never existed or was pruned: what
    /// `agentq jobs get` and `GET /jobs/{id}` both say.
    ///
    /// ```swift
    /// let job = try queue.requireJob(id: "job_01jdq3v4y8k2m5n7p9r1s3t5v7")
    /// ```
    /// - throws: ``AgentQError`` `.notFound` naming the ID (and when it was pruned), or a
    ///   ``JobQueue/StoreError``.
    public func requireJob(id: String) throws -> Job {
        if let job = try store.job(id: id) { return job }
        if let prunedAt = try store.prunedAt(jobID: id) {
            throw AgentQError(
                .notFound,
                "job '\(id)' was pruned at \(prunedAt.iso8601): it had finished before the retention window "
                    + "(agentq prune, or the retention.finished setting)")
        }
        throw AgentQError(.notFound, "no job with ID '\(id)'")
    }

    /// The batch with this ID.
    ///
    /// ```swift
    /// let batch = try queue.requireBatch(id: report.batchID)
    /// ```
    /// - throws: ``AgentQError`` `.notFound` naming the ID, or a ``JobQueue/StoreError``.
    public func requireBatch(id: String) throws -> Batch {
        guard let batch = try store.batch(id: id) else {
            throw AgentQError(.notFound, "no batch with ID '\(id)' (agentq batch list shows them)")
        }
        return batch
    }
}
