/// What a cancel did to one job: see ``JobStore/cancel(_:now:)``.
public struct CancelOutcome: Sendable, Hashable {
    public enum Effect: String, Sendable {
        /// It was queued and is now cancelled.
        case cancelled
        /// It is running; its worker was asked to stop.
        case cancelRequested = "cancel_requested"
        /// It had already finished; nothing changed.
        case alreadyFinished = "already_finished"
        case notFound = "not_found"
    }
    public var id: String
    public var effect: Effect
    public var status: JobStatus?
}
