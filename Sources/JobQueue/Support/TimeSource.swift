/// Where the engine reads the time, so time-dependent logic can be tested without sleeping.
///
/// ```swift
/// let worker = WorkerPool(..., timeSource: SystemTimeSource())
/// ```
public protocol TimeSource: Sendable {
    func now() -> Timestamp
}

/// The wall clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> Timestamp { .now }
}
