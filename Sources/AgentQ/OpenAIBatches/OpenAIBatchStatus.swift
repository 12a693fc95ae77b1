/// Where an OpenAI batch is in its life, as the OpenAI Batch API names it.
///
/// `validating` → `in_progress` → `finalizing` → `completed`; `failed` when the input file is
/// invalid; `cancelling` → `cancelled` after a cancel.
///
/// ```swift
/// if batch.status.isFinished { print("done") }
/// ```
public enum OpenAIBatchStatus: String, Sendable, Hashable, CaseIterable {
    case validating
    case failed
    case inProgress = "in_progress"
    case finalizing
    case completed
    case expired
    case cancelling
    case cancelled

    /// No further change will come.
    public var isFinished: Bool { [.failed, .completed, .expired, .cancelled].contains(self) }
}
