import JobQueue

/// A stateful conversation with one agent: its identity, status and workspace.
public struct SessionRecord: Sendable, Hashable {
    /// `ses_` followed by random characters, so any short prefix tells sessions apart.
    public var id: String
    public var agent: String
    public var title: String?
    public var status: SessionStatus
    /// Where the agent's tools read and write.
    public var workdir: String
    /// Whether agentq created the workspace (and so may delete it when the session closes).
    public var managedWorkdir: Bool
    public var createdAt: Timestamp
    public var lastActiveAt: Timestamp
    public var messageCount: Int
    /// The host whose workspace holds the session (its turns run there); nil: unknown, or any
    /// host (one machine, or workspaces on shared storage).
    public var host: String?

    public init(
        id: String, agent: String, title: String? = nil, status: SessionStatus = .idle, workdir: String,
        managedWorkdir: Bool, createdAt: Timestamp, lastActiveAt: Timestamp, messageCount: Int = 0, host: String? = nil
    ) {
        self.id = id
        self.agent = agent
        self.title = title
        self.status = status
        self.workdir = workdir
        self.managedWorkdir = managedWorkdir
        self.createdAt = createdAt
        self.lastActiveAt = lastActiveAt
        self.messageCount = messageCount
        self.host = host
    }

    /// A new random session ID.
    public static func makeID() -> String {
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
        var generator = SystemRandomNumberGenerator()
        return "ses_" + String((0..<20).map { _ in alphabet[Int(generator.next() % 32)] })
    }
}
