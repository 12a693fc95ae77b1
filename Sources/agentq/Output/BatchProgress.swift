import AgentQ
import Foundation
import JobQueue

/// Shows how a batch is doing while `submit --wait` runs it: a redrawn bar on a terminal,
/// a plain line every few seconds otherwise. Written to stderr.
final class BatchProgress: @unchecked Sendable {
    private let store: any JobStore
    private let batchID: String
    private let total: Int
    private let startedAt = Date()
    private let interactive = Terminal.stderrIsTTY
    private var timer: DispatchSourceTimer?
    private var lastPlainLine = Date.distantPast
    private var lastPlainCounts: String?
    private let lock = NSLock()

    init(store: any JobStore, batchID: String, total: Int) {
        self.store = store
        self.batchID = batchID
        self.total = total
    }

    func start() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "agentq.progress"))
        timer.schedule(deadline: .now() + .milliseconds(200), repeating: .milliseconds(interactive ? 200 : 1000))
        timer.setEventHandler { [weak self] in self?.draw(final: false) }
        timer.resume()
        self.timer = timer
    }

    func finish() {
        timer?.cancel()
        timer = nil
        draw(final: true)
    }

    private func draw(final: Bool) {
        lock.lock()
        defer { lock.unlock() }
        guard let counts = try? store.counts(batchID: batchID) else { return }
        let done = counts.succeeded + counts.failed + counts.cancelled
        let elapsed = max(Date().timeIntervalSince(startedAt), 0.001)
        let rate = Double(done) / elapsed
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let summary = "\(done)/\(total) done, \(counts.failed) failed, \(counts.cancelled) cancelled"
            + " · \(Int(rate.rounded()))/s · ETA \(done == total ? "0:00" : durationText(seconds: eta))"
        if interactive {
            let width = 30
            let filled = total > 0 ? min(width, width * done / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            Terminal.err("\r\u{1B}[2K\(bar) \(summary)", newline: final)
        } else if final || Date().timeIntervalSince(lastPlainLine) >= 2 {
            // A log gets one line per change, not a repeat of the last one.
            let counts = "\(done)/\(counts.failed)/\(counts.cancelled)"
            guard counts != lastPlainCounts else { return }
            lastPlainCounts = counts
            lastPlainLine = Date()
            Terminal.err("progress: \(summary)")
        }
    }
}
