import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kills a child's whole process group, from any thread, until the run that owns it is over.
///
/// The cancellation token may fire on another thread at any moment, even after the command
/// ended; once ``disarm()`` ran, a late call does nothing, so a recycled process group id is
/// never signalled.
///
/// ```swift
/// let killer = ProcessGroupKiller(groupID: process.processIdentifier)
/// let key = token.onCancel { _ in killer.killGroup() }
/// ```
final class ProcessGroupKiller: @unchecked Sendable {
    private let lock = NSLock()
    private let groupID: pid_t
    private var armed = true
    private var killed = false

    init(groupID: pid_t) {
        self.groupID = groupID
    }

    /// Sends SIGKILL to every process of the group: the command and all its children at once.
    func killGroup() {
        lock.lock()
        defer { lock.unlock() }
        guard armed, groupID > 0 else { return }
        killed = true
        _ = kill(-groupID, SIGKILL)
    }

    /// Whether ``killGroup()`` signalled the group.
    var didKill: Bool {
        lock.lock()
        defer { lock.unlock() }
        return killed
    }

    /// Makes later ``killGroup()`` calls do nothing.
    func disarm() {
        lock.lock()
        armed = false
        lock.unlock()
    }
}
