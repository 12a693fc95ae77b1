/// A job to enqueue.
///
/// ```swift
/// try store.enqueue(batch: nil) { inserter in
///     try inserter.insert(NewJob(handler: "echo", input: "hello"))
/// }
/// ```
public struct NewJob: Sendable, Hashable {
    public var customID: String?
    public var lane: String?
    public var handler: String
    public var input: String
    public var metadata: String?
    public var priority: Int
    /// Not before this time; `nil` means now.
    public var runAt: Timestamp?
    public var maxAttempts: Int
    /// Opaque JSON text for the handler's own settings: see ``Job/options``.
    public var options: String?
    /// Only workers on this host may claim the job (a session's turn needs the workspace that
    /// lives there); `nil`: any host. Meaningful only when many hosts share one database.
    public var host: String?

    public init(
        customID: String? = nil, lane: String? = nil, handler: String, input: String, metadata: String? = nil,
        priority: Int = 0, runAt: Timestamp? = nil, maxAttempts: Int = 3, options: String? = nil, host: String? = nil
    ) {
        self.customID = customID
        self.lane = lane
        self.handler = handler
        self.input = input
        self.metadata = metadata
        self.priority = priority
        self.runAt = runAt
        self.maxAttempts = maxAttempts
        self.options = options
        self.host = host
    }
}
