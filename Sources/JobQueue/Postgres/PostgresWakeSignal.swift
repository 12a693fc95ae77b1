/// Wake-ups between every process on every host sharing one PostgreSQL database, by
/// `LISTEN/NOTIFY` on one channel.
///
/// ``PostgresJobStore`` sends its nudge inside the transaction that makes jobs claimable or asks
/// for a cancel (``notify(on:)``), so PostgreSQL delivers it exactly when that commit becomes
/// visible: a worker woken by it always finds the change. Like every ``WakeSignal`` it is
/// lossy (a listener reconnecting misses what was sent meanwhile); the workers' polls cover that.
///
/// ```swift
/// let wake = PostgresWakeSignal(database: database)
/// let store = PostgresJobStore(database: database, wake: wake)
/// let stop = try wake.listen { print("woken") }
/// ```
public final class PostgresWakeSignal: WakeSignal {
    public let database: PGDatabase
    public let channel: String

    /// The channel every agentq process listens on.
    public static let defaultChannel = "agentq_wake"

    public init(database: PGDatabase, channel: String = PostgresWakeSignal.defaultChannel) {
        self.database = database
        self.channel = channel
    }

    /// Nudges every listener at once (outside any transaction). Never throws.
    public func notify() {
        database.notify(channel, on: nil)
    }

    /// Nudges every listener when `connection`'s transaction commits (nothing if it rolls back).
    public func notify(on connection: PGConnection) {
        database.notify(channel, on: connection)
    }

    /// - throws: ``StoreError`` when the listening connection cannot be opened; the worker
    ///   then relies on its poll.
    public func listen(_ wake: @escaping @Sendable () -> Void) throws -> @Sendable () -> Void {
        try database.listen(channel) { _ in wake() }
    }
}
