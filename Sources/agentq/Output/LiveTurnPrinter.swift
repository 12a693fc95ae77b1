import AgentQ
import Foundation

/// Prints a turn as it happens on a terminal: the answer as it streams, tool calls as they start.
final class LiveTurnPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private var inAnswer = false
    private(set) var printedAnswer = false

    /// Listens to the turn's events (when it runs in this process).
    func attach(jobID: String) {
        TurnObservers.shared.observe(jobID: jobID) { [self] event in self.handle(event) }
    }

    func detach(jobID: String) {
        TurnObservers.shared.stopObserving(jobID: jobID)
        lock.lock()
        if inAnswer { write("\n") }
        inAnswer = false
        lock.unlock()
    }

    var didPrintAnswer: Bool {
        lock.lock()
        defer { lock.unlock() }
        return printedAnswer
    }

    func handleEvent(_ event: TurnEvent) { handle(event) }

    private func handle(_ event: TurnEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .textDelta(let text):
            if !inAnswer {
                write("Agent > ")
                inAnswer = true
                printedAnswer = true
            }
            write(text)
        case .streamRestarted:
            if inAnswer { write("\n[the provider call is being retried; the partial answer above is discarded]\n") }
            inAnswer = false
        case .toolCallStarted(let call):
            if inAnswer { write("\n") }
            inAnswer = false
            write("  → \(call.name) \(call.arguments)\n")
        case .toolCallFinished(let record):
            let first = record.resultSummary.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            write("  ← \(record.name)\(record.isError ? " (error)" : ""): \(first.prefix(100))\n")
        case .stepFinished, .done, .error:
            break
        }
    }

    private func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
