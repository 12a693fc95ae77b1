/// A nudge between processes that share a store — "jobs may be claimable, or a cancel request
/// waits" — so an idle worker looks at once instead of at its next poll.
///
/// Lossy by design: a nudge that never arrives costs only the poll interval, which stays the
/// fallback. A store given one nudges after each commit that makes jobs claimable (an enqueue
/// going live, a retry, a lane resumed) or asks for a cancel; a ``WorkerPool`` whose options
/// carry one listens while it runs.
///
/// ```swift
/// let stop = try signal.listen { print("woken") }
/// signal.notify()   // from any process
/// stop()
/// ```
public protocol WakeSignal: Sendable {
    /// Nudges every listener, in every process. Never blocks and never fails.
    func notify()

    /// Calls `wake` on a thread of its own for each nudge, until the returned function is called.
    /// - throws: when this process cannot listen; its workers then rely on their poll.
    func listen(_ wake: @escaping @Sendable () -> Void) throws -> @Sendable () -> Void
}
