import Foundation
import JobQueue

/// Fires due schedules for a worker's maintenance passes, on a thread of its own and one pass
/// at a time: the store's reads and writes retry a locked database for up to three busy
/// timeouts, which must never hold up the worker's heartbeats.
///
/// ```swift
/// let firer = ScheduleFirer(schedules: queue.schedules)
/// options.maintenance = { firer.fireDueInBackground(log: log) }
/// ```
final class ScheduleFirer: Sendable {
    let schedules: any ScheduleStore
    private let pass = BackgroundPass()

    init(schedules: any ScheduleStore) { self.schedules = schedules }

    /// Starts a pass unless one is still going; logs ticks whose prompts failed and store errors.
    func fireDueInBackground(log: @escaping @Sendable (String) -> Void) {
        pass.startUnlessRunning { [schedules] in
            do {
                for run in try schedules.fireDue(now: .now) where run.outcome == .failed {
                    log("schedule \(run.name): tick \(run.tickAt?.iso8601 ?? "-") failed: \(run.message ?? "")")
                }
            } catch {
                log("could not fire schedules: \((error as? StoreError)?.message ?? "\(error)")")
            }
        }
    }
}
