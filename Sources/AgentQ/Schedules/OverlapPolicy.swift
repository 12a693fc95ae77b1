/// Whether a tick fires while the previous fire's batch still has unfinished jobs.
///
/// ```swift
/// let policy = OverlapPolicy(rawValue: "allow") ?? .skip
/// ```
public enum OverlapPolicy: String, Sendable, Hashable, CaseIterable {
    /// Skip the tick (the default): a slow run never piles up behind itself.
    case skip
    /// Fire anyway.
    case allow
}
