import AgentQ
import AgentQTesting
import Foundation
import JobQueue

/// `make bench`, jobs in flight: `agentq worker --drain --concurrency N` on jobs whose model
/// call takes one second, against the ideal `jobs / N` seconds (goal: within 5 %), and the
/// memory each job in flight costs.
///
/// Two models: the echo provider's `latency_ms` (a timer) and an OpenAI agent calling the
/// in-repo ``StubModelServer`` over loopback HTTP, which answers every request after the same
/// second and reports how many requests it held at once. The wall time counts the worker
/// process from start to exit, result files written and synced.
///
/// Memory per job in flight: the worker's peak resident memory at `--concurrency N` less its
/// peak for the same kind of job at `--concurrency 16`, divided by the extra jobs.
///
/// The homes stay until the bench exits (``BenchDirectory`` says why), and a probe line first
/// shows how fast the file system there creates files right now. A last echo run puts its
/// home on tmpfs, to show how much of the time is the disk's (result files are fsynced).
///
/// ```swift
/// try InFlightBench(binary: agentq).run()
/// ```
struct InFlightBench {
    let binary: String
    var jobs = 4096
    var concurrency = 1024
    var latencyMilliseconds = 1000

    /// - throws: when a home, a file or a process cannot be made.
    func run() throws {
        let stub = try StubModelServer(delayMilliseconds: Int64(latencyMilliseconds))
        defer { try? stub.stop() }
        print(BenchDirectory.probeLine())
        let agents: [(label: String, definition: String)] = [
            ("echo latency_ms \(latencyMilliseconds)",
             #"{"name": "model", "provider": "echo", "model": "echo", "options": {"latency_ms": \#(latencyMilliseconds)}}"#),
            ("HTTP stub (OpenAI, streamed)",
             #"{"name": "model", "provider": "openai", "model": "stub", "base_url": "\#(stub.baseURL)"}"#),
        ]
        for (label, definition) in agents {
            let before = stub.answered
            let wide = try drain(definition: definition, jobs: jobs, concurrency: concurrency)
            let stubNote = label.hasPrefix("HTTP")
                ? ", the stub held at most \(stub.mostInFlight) requests at once (\(stub.answered - before) answered) and used "
                    + "\(format(wide.benchCPUSeconds)) s of processor on the same cores, the worker \(format(wide.cpuSeconds)) s"
                : ""
            let ideal = Double(jobs) / Double(concurrency) * Double(latencyMilliseconds) / 1000
            print("in flight, \(label): \(wide.files) jobs at --concurrency \(concurrency) in \(format(wide.seconds)) s, ideal \(format(ideal)) s = "
                + "\(String(format: "%+.1f", (wide.seconds / ideal - 1) * 100)) % (goal: within 5 %) \(wide.phases), peak RSS \(format(wide.maxRSSMB)) MB\(stubNote), load \(loadAverage())")
            let narrow = try drain(definition: definition, jobs: 64, concurrency: 16)
            let perJob = (wide.maxRSSMB - narrow.maxRSSMB) * 1024 / Double(concurrency - 16)
            print("in flight, \(label): memory per job in flight \(String(format: "%.1f", perJob)) KB "
                + "(peak RSS \(format(wide.maxRSSMB)) MB at \(concurrency), \(format(narrow.maxRSSMB)) MB at 16)")
        }
        let widest = try drain(definition: agents[0].definition, jobs: jobs, concurrency: jobs)
        let ideal = Double(latencyMilliseconds) / 1000
        print("in flight, echo latency_ms \(latencyMilliseconds): \(widest.files) jobs at --concurrency \(jobs) in \(format(widest.seconds)) s, "
            + "ideal \(format(ideal)) s, peak RSS \(format(widest.maxRSSMB)) MB, load \(loadAverage())")
        if FileManager.default.isWritableFile(atPath: "/dev/shm") {
            let memory = try drain(
                definition: agents[0].definition, jobs: jobs, concurrency: concurrency,
                in: URL(fileURLWithPath: "/dev/shm"))
            let wideIdeal = Double(jobs) / Double(concurrency) * Double(latencyMilliseconds) / 1000
            print("in flight, echo latency_ms \(latencyMilliseconds), home on tmpfs (no disk; not durable): \(memory.files) jobs at --concurrency \(concurrency) in "
                + "\(format(memory.seconds)) s, ideal \(format(wideIdeal)) s = \(String(format: "%+.1f", (memory.seconds / wideIdeal - 1) * 100)) % \(memory.phases), load \(loadAverage())")
        }
    }

    /// Submits `jobs` lines for the agent and times `agentq worker --drain` over them.
    private func drain(
        definition: String, jobs: Int, concurrency: Int,
        in parent: URL = BenchDirectory.run
    ) throws -> (files: Int, seconds: Double, maxRSSMB: Double, phases: String, cpuSeconds: Double, benchCPUSeconds: Double) {
        let home = AgentQHome(root: parent.appendingPathComponent("agentq-bench-\(UUID().uuidString.prefix(8))"))
        // Homes in the bench's directory go when it exits (BenchDirectory says why); one elsewhere
        // (the tmpfs run's, in memory) goes now.
        defer { if parent != BenchDirectory.run { try? FileManager.default.removeItem(at: home.root) } }
        try FileManager.default.createDirectory(at: home.root, withIntermediateDirectories: true)
        let agentFile = home.root.appendingPathComponent("model.json")
        try Data(definition.utf8).write(to: agentFile)
        guard try agentq_bench.run(binary, ["agents", "add", agentFile.path], home: home.root.path) == 0 else {
            throw BenchError("agentq agents add failed for \(definition)")
        }
        let file = home.root.appendingPathComponent("jobs.jsonl")
        try bulkFile(lines: jobs).write(to: file)
        guard try agentq_bench.run(binary, ["submit", file.path, "--agent", "model"], home: home.root.path) == 0 else {
            throw BenchError("agentq submit failed")
        }
        sync()
        let began = Timestamp.now
        let (ownBefore, workerBefore) = (ownCPUSeconds(), childrenCPUSeconds())
        let measured = try runMeasured(
            binary, ["worker", "--drain", "--concurrency", "\(concurrency)", "--grace", "0"], home: home.root.path)
        guard measured.status == 0 else { throw BenchError("agentq worker --drain exited \(measured.status)") }
        let (benchCPU, workerCPU) = (ownCPUSeconds() - ownBefore, childrenCPUSeconds() - workerBefore)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: home.resultsDirectory.path))?
            .filter { $0.hasSuffix(".json") }.count ?? 0
        return (files, measured.seconds, measured.maxRSSMB, try phases(home: home, began: began, seconds: measured.seconds), workerCPU, benchCPU)
    }

    /// Where the worker's time went, from its jobs' own times: start-up until the first job
    /// began, the calls until the last one returned, and the tail after it (the last results
    /// written and committed, the process ending).
    private func phases(home: AgentQHome, began: Timestamp, seconds: Double) throws -> String {
        let store = SQLiteJobStore(database: try SQLiteDatabase(path: home.databasePath, migrations: AgentQueue.migrations))
        let jobs = try store.jobs(matching: JobFilter())
        guard let first = jobs.compactMap(\.startedAt?.milliseconds).min(),
            let last = jobs.compactMap(\.finishedAt?.milliseconds).max()
        else { return "" }
        let tail = Double(began.milliseconds) + seconds * 1000 - Double(last)
        return "(start-up \(first - began.milliseconds) ms, calls \(format(Double(last - first) / 1000)) s, after the last call \(Int(tail)) ms)"
    }

    private func format(_ value: Double) -> String { String(format: "%.2f", value) }
}

/// A bench step that could not run.
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
