import JobQueue

/// Where the small named settings shared by every process live (the retention policy):
/// ``SQLiteSettingsStore`` in the home's database, ``PostgresSettingsStore`` in a shared one.
///
/// ```swift
/// try queue.settings.set("retention.finished", "14d")
/// let finished = try queue.settings.value("retention.finished")   // "14d"
/// ```
public protocol SettingsStore: Sendable {
    /// - throws: ``JobQueue/StoreError``.
    func value(_ key: String) throws -> String?
    /// Every setting, by key.
    /// - throws: ``JobQueue/StoreError``.
    func all() throws -> [(key: String, value: String)]
    /// - throws: ``JobQueue/StoreError``.
    func set(_ key: String, _ value: String) throws
    /// - returns: whether the key was set.
    /// - throws: ``JobQueue/StoreError``.
    @discardableResult
    func unset(_ key: String) throws -> Bool
    /// Records `now` under `key` if the time stored there is at least `interval` milliseconds
    /// old (or none is), atomically: of many processes asking at once, exactly one gets `true`
    /// per interval.
    /// - throws: ``JobQueue/StoreError``.
    func claim(_ key: String, now: Timestamp, interval: Int64) throws -> Bool
}
