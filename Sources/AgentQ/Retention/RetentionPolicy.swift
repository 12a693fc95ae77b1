import JobQueue

/// How long a home keeps finished work, set with `agentq config set retention.… AGE` and
/// applied by workers at most once an hour. Unset (the default): everything is kept.
///
/// ```swift
/// let policy = try RetentionPolicy(settings: queue.settings)
/// if let finished = policy.finished { print("finished jobs are kept \(finished)") }
/// ```
public struct RetentionPolicy: Sendable, Hashable {
    /// The settings a policy is made of.
    public enum Key: String, Sendable, CaseIterable {
        /// Finished jobs (succeeded, failed, cancelled) older than this are pruned.
        case finished = "retention.finished"
        /// Ended and timed-out sessions, with their history, idle for longer than this.
        case sessions = "retention.sessions"
        /// Result files written longer ago than this.
        case results = "retention.results"
    }

    public var finished: RetentionAge?
    public var sessions: RetentionAge?
    public var results: RetentionAge?

    public init(finished: RetentionAge? = nil, sessions: RetentionAge? = nil, results: RetentionAge? = nil) {
        self.finished = finished
        self.sessions = sessions
        self.results = results
    }

    /// Reads the policy from the settings. A value that no longer parses is ignored (kept
    /// forever) rather than guessed at.
    /// - throws: ``JobQueue/StoreError``.
    public init(settings: any SettingsStore) throws {
        var values: [Key: RetentionAge] = [:]
        for (key, value) in try settings.all() {
            if let key = Key(rawValue: key) { values[key] = try? RetentionAge(parsing: value, option: key.rawValue) }
        }
        self.init(finished: values[.finished], sessions: values[.sessions], results: values[.results])
    }

    /// The age set for one key; nil when unset.
    public subscript(key: Key) -> RetentionAge? {
        switch key {
        case .finished: return finished
        case .sessions: return sessions
        case .results: return results
        }
    }

    /// Nothing is ever removed.
    public var isEmpty: Bool { finished == nil && sessions == nil && results == nil }

    /// The prune this policy asks for.
    public func request(dryRun: Bool) -> PruneRequest {
        PruneRequest(
            finishedBefore: finished, sessionsEndedBefore: sessions, resultsWrittenBefore: results, dryRun: dryRun)
    }
}
