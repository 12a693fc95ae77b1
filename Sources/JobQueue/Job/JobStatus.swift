/// The life-cycle state of a job.
///
/// ```
/// queued ──claim──▶ running ──▶ succeeded | failed | cancelled
///   ▲                  │
///   └──retry / rescue──┘
/// ```
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case queued
    case running
    case succeeded
    case failed
    case cancelled

    /// Whether the job has reached an end state that only `retry` can leave.
    public var isFinished: Bool {
        switch self {
        case .succeeded, .failed, .cancelled: return true
        case .queued, .running: return false
        }
    }
}
