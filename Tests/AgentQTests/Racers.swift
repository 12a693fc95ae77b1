import Foundation
import Testing

/// Runs one closure per racer, each on a thread of its own, all released together, so what
/// they read and write overlaps as it would in several processes or hosts.
///
/// ```swift
/// Racers.run(stores) { index, store in try store.fireDue(now: now) }
/// ```
enum Racers {
    /// Waits for every racer; an error a racer throws is recorded as an issue naming it.
    static func run<Racer: Sendable>(_ racers: [Racer], _ body: @escaping @Sendable (Int, Racer) throws -> Void) {
        let gate = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        for (index, racer) in racers.enumerated() {
            done.enter()
            Thread {
                gate.wait()
                do {
                    try body(index, racer)
                } catch {
                    Issue.record("racer \(index) failed: \(error)")
                }
                done.leave()
            }.start()
        }
        for _ in racers { gate.signal() }
        done.wait()
    }
}
