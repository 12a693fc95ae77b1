/// Where a session is in its life.
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
    /// A turn is running.
    case active
    /// Waiting for the next message.
    case idle
    /// Its turns wait in the queue until it is resumed; the workspace is kept.
    case paused
    /// Closed by `sessions end`: the history stays readable, the workspace is gone.
    case ended
    /// Idle for longer than its timeout: like `ended`, but closed by agentq.
    case timeout
    /// Its last turn failed; a new message can still be sent.
    case error

    /// Whether new turns can be sent.
    public var acceptsMessages: Bool { self != .ended && self != .timeout }
}
