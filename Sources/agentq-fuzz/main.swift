import AgentQTesting
import Foundation

// `make fuzz`: agentq's bulk-line reader against Foundation's JSONSerialization on generated
// lines (see JSONLineFuzzer). Exits 1 at the first disagreement, printing the line and
// writing its bytes to fuzz-failure-<seed>.bin.
//
//     agentq-fuzz [--count N] [--seed S] [--jobs J]

var count = 1_000_000
var seed = UInt64.random(in: 0...UInt64(UInt32.max))
var jobs = ProcessInfo.processInfo.activeProcessorCount
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard let text = arguments.popFirst() else {
        FileHandle.standardError.write(Data("\(flag) needs a value\n".utf8))
        exit(64)
    }
    switch (flag, Int(text), UInt64(text)) {
    case ("--count", let value?, _) where value > 0: count = value
    case ("--seed", _, let value?): seed = value
    case ("--jobs", let value?, _) where value > 0: jobs = value
    default:
        FileHandle.standardError.write(Data("usage: agentq-fuzz [--count N>0] [--seed S] [--jobs J>0]\n".utf8))
        exit(64)
    }
}

// Each job runs its own seed (seed, seed+1, …) over its share of the count.
let shares = (0..<jobs).map { count / jobs + ($0 < count % jobs ? 1 : 0) }
let baseSeed = seed
let outcomes = LockedOutcomes()
let started = Date()
DispatchQueue.concurrentPerform(iterations: jobs) { job in
    let jobSeed = baseSeed &+ UInt64(job)
    do {
        outcomes.add(.success(try JSONLineFuzzer.run(seed: jobSeed, count: shares[job])))
    } catch {
        outcomes.add(.failure(error))
    }
}
let seconds = Date().timeIntervalSince(started)
var failed = false
for outcome in outcomes.all {
    guard case .failure(let error) = outcome else { continue }
    failed = true
    print("DISAGREEMENT: \(error)")
    if let disagreement = error as? JSONLineFuzzer.Disagreement {
        let file = "fuzz-failure-\(seed).bin"
        try? Data(disagreement.input).write(to: URL(fileURLWithPath: file))
        print("  written to \(file)")
    }
}
let reports = outcomes.all.compactMap { try? $0.get() }
let checked = reports.reduce(0) { $0 + $1.count }
let accepted = reports.reduce(0) { $0 + $1.accepted }
print(String(
    format: "agentq-fuzz: seed %llu, %d inputs (%d valid JSON objects) in %.1f s on %d job(s): %.0f inputs/s%@",
    seed, checked, accepted, seconds, jobs, Double(checked) / max(seconds, 1e-9), failed ? ", FAILED" : ", no disagreement"))
exit(failed ? 1 : 0)

final class LockedOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<JSONLineFuzzer.Report, any Error>] = []
    func add(_ outcome: Result<JSONLineFuzzer.Report, any Error>) {
        lock.lock()
        outcomes.append(outcome)
        lock.unlock()
    }
    var all: [Result<JSONLineFuzzer.Report, any Error>] {
        lock.lock()
        defer { lock.unlock() }
        return outcomes
    }
}
