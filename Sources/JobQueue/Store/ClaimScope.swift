/// Which jobs a worker may claim.
public enum ClaimScope: Sendable, Hashable {
    case all
    /// Only the jobs of one batch (a `submit --wait` running its own batch).
    case batch(String)
    /// Only the jobs of one lane (a session's turn run in the foreground).
    case lane(String)

    var batchID: String? { if case .batch(let id) = self { return id } else { return nil } }
    var lane: String? { if case .lane(let key) = self { return key } else { return nil } }
}
