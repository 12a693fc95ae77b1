import JobQueue

/// How much a home holds, and what its retention policy would remove: `agentq stats`.
///
/// ```swift
/// let stats = try Retention(queue: queue).stats()
/// print(RetentionDocument.json(for: stats))
/// ```
public struct HomeStats: Sendable, Hashable {
    public var database: DatabaseSpace
    public var store: StoreSummary
    public var sessions: [SessionStatus: Int]
    public var resultFiles: Int
    public var resultBytes: Int64
    public var policy: RetentionPolicy
    /// A dry run of the policy now; nil when no policy is set (everything is kept).
    public var policyWouldRemove: RetentionReport?
    /// When a worker last applied the policy.
    public var policyLastRunAt: Timestamp?
}
