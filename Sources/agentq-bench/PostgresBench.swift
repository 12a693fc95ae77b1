import AgentQ
import Foundation
import AgentQTesting
import JobQueue

/// `make bench`, section 6: the engine and the end-to-end drain on PostgreSQL, next to SQLite's
/// in the same run (issue 9).
///
/// A throwaway PostgreSQL server is started for it (`Tests/Support/postgres-test-server.sh`,
/// fsync on, as a user's server would run) on loopback and removed at the end; each figure gets
/// a database of its own.
///
/// ```swift
/// try PostgresBench(binary: agentq, engineJobs: 20_000, drainJobs: 5_000).run()
/// ```
struct PostgresBench {
    let binary: String
    let engineJobs: Int
    let drainJobs: Int

    /// - throws: when the server, a home, or a process cannot be started.
    func run() throws {
        let directory = NSTemporaryDirectory() + "agentq-bench-pg-\(UUID().uuidString.prefix(8))"
        let server = try PostgresServerScript.start(directory: directory, durable: true)
        defer { PostgresServerScript.stop(directory: directory) }
        print("PostgreSQL: a local server on loopback (fsync on), load \(loadAverage())")
        for workers in [4, 16] {
            let sqlite = try engineRate(workers: workers, url: nil)
            let postgres = try engineRate(workers: workers, url: try PostgresServerScript.createDatabase(server: server))
            print("engine \(workers) workers (claim + complete, no-op handler): SQLite \(rate(engineJobs, sqlite)) jobs/s, "
                + "PostgreSQL \(rate(engineJobs, postgres)) jobs/s")
        }
        let sqliteDrain = try twoWorkerDrain(url: nil)
        let postgresDrain = try twoWorkerDrain(url: try PostgresServerScript.createDatabase(server: server))
        print("end-to-end drain, 2 agentq worker processes, \(drainJobs) jobs with result files: "
            + "SQLite (one home) \(rate(drainJobs, sqliteDrain)) jobs/s, PostgreSQL (two homes) \(rate(drainJobs, postgresDrain)) jobs/s "
            + "(load \(loadAverage()))")
        let pickup = try pickupLatency(url: try PostgresServerScript.createDatabase(server: server))
        print("pickup on PostgreSQL by an idle worker of a job submitted by another process: median \(pickup.median) ms of 20, "
            + "max \(pickup.max) ms (goal: < 20 ms)")
    }

    /// Seconds for a WorkerPool to claim and complete `engineJobs` no-op jobs.
    private func engineRate(workers: Int, url: String?) throws -> Double {
        let home = try freshHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let queue = try AgentQueue(home: home, databaseURL: url)
        _ = try queue.store.enqueue(batch: NewBatch(source: "bench")) { inserter in
            for index in 0..<engineJobs { try inserter.insert(NewJob(handler: "echo", input: "job \(index)")) }
        }
        let pool = WorkerPool(store: queue.store, handler: InstantHandler(), sink: DiscardingSink(),
                              options: WorkerOptions(mode: .drain, concurrency: workers))
        return try seconds { _ = try pool.run() }
    }

    /// Seconds for two `agentq worker --drain` processes to finish `drainJobs` echo jobs: on one
    /// SQLite home, or on two homes (two hosts) sharing the PostgreSQL database at `url`.
    private func twoWorkerDrain(url: String?) throws -> Double {
        let homeA = try freshHome(), homeB = try freshHome()
        let file = homeA.root.path + "-input.jsonl"
        defer {
            for path in [homeA.root.path, homeB.root.path, file] { try? FileManager.default.removeItem(atPath: path) }
        }
        try bulkFile(lines: drainJobs).write(to: URL(fileURLWithPath: file))
        var environment = ProcessInfo.processInfo.environment
        if let url { environment["AGENTQ_DATABASE_URL"] = url }
        _ = try spawn(["submit", file], home: homeA, environment: environment).waitStatus()
        let second = url == nil ? homeA : homeB
        return try seconds {
            let workers = try [homeA, second].map { try spawn(["worker", "--drain", "--concurrency", "4"], home: $0, environment: environment) }
            for worker in workers { _ = worker.waitStatus() }
        }
    }

    /// Milliseconds from submit to start, for 20 jobs submitted one at a time to an idle worker.
    private func pickupLatency(url: String) throws -> (median: Int64, max: Int64) {
        let home = try freshHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTQ_DATABASE_URL"] = url
        let worker = try spawn(["worker", "--concurrency", "1"], home: home, environment: environment)
        defer { worker.stop() }
        let queue = try AgentQueue(home: try freshHome(), databaseURL: url)
        Thread.sleep(forTimeInterval: 1)   // the worker's LISTEN is in place
        var latencies: [Int64] = []
        for index in 0..<20 {
            let report = try queue.submit(Data(#"{"input": "pickup \#(index)"}"#.utf8), options: SubmitOptions(source: "pickup"))
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                if let job = try queue.store.jobs(matching: JobFilter(batchID: report.batchID)).first, let started = job.startedAt {
                    latencies.append(started.milliseconds - job.createdAt.milliseconds)
                    break
                }
                Thread.sleep(forTimeInterval: 0.002)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let sorted = latencies.sorted()
        return (sorted.isEmpty ? -1 : sorted[sorted.count / 2], sorted.last ?? -1)
    }

    private func spawn(_ arguments: [String], home: AgentQHome, environment: [String: String]) throws -> BenchChild {
        var environment = environment
        environment["AGENTQ_HOME"] = home.root.path
        return try BenchChild(binary: binary, arguments: arguments, environment: environment)
    }
}

/// An `agentq` process started by the bench, its output discarded.
final class BenchChild {
    let process = Process()

    init(binary: String, arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for the exit. - returns: the exit status.
    @discardableResult
    func waitStatus() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGTERM, then waits.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
