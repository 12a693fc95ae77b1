import AgentQ
import Foundation
import JobQueue

/// `make bench`: the end-to-end drain that writes a result file per job, against the file system
/// writing the same number of files the same way, in the same run (goal: the drain at 80 % or more).
///
/// The file system side is agentq's own ``ResultWriter`` fed finished jobs that look like the echo
/// agent's (same document, same size), handed over one job at a time from `concurrency` threads
/// through the same ``GroupedDelivery`` the worker pool uses: per group the temporary files, one
/// `syncfs`, the renames, and one directory fsync per group of renames (``DirectorySync``). So
/// the only difference left is agentq's own work: claiming, running the handler, committing. Each side runs twice,
/// interleaved, and the faster of each pair is compared (the machine is shared and noisy).
///
/// ```swift
/// try FileSystemRatioBench(binary: agentq, jobs: 20_000, concurrency: 4).measure()
/// ```
struct FileSystemRatioBench {
    let binary: String
    let jobs: Int
    let concurrency: Int

    /// - throws: when a home, a file or a process cannot be made.
    func measure() throws {
        var fileSystemBest = 0.0, drainBest = 0.0
        for round in 1...2 {
            let fileSystem = try fileSystemRate()
            let drain = try drainRate()
            fileSystemBest = max(fileSystemBest, fileSystem)
            drainBest = max(drainBest, drain)
            print("result files, round \(round) (load \(loadAverage())): file system alone (ResultWriter, \(concurrency) threads) \(Int(fileSystem.rounded())) files/s, "
                + "agentq worker --drain --concurrency \(concurrency) \(Int(drain.rounded())) jobs/s")
        }
        let ratio = drainBest / fileSystemBest * 100
        print("end-to-end drain vs the file system writing the same \(jobs) result files: "
            + "\(Int(drainBest.rounded())) jobs/s / \(Int(fileSystemBest.rounded())) files/s = \(String(format: "%.1f", ratio)) % (goal >= 80 %)")
    }

    /// Files per second written by `concurrency` threads through ``ResultWriter``.
    private func fileSystemRate() throws -> Double {
        let home = try freshHome()   // kept until the bench exits: see BenchDirectory
        try FileManager.default.createDirectory(at: home.resultsDirectory, withIntermediateDirectories: true)
        let finished = (0..<jobs).map(Self.echoJob)
        // Grouped as the worker pool groups its deliveries before the commit.
        let groups = GroupedDelivery<String>(sink: ResultWriter(directory: home.resultsDirectory))
        let written = DispatchGroup()
        sync()
        final class Cursor: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var failure: (any Error)?
        }
        let cursor = Cursor()
        let group = DispatchGroup()
        let elapsed = seconds {
            for index in 0..<concurrency {
                // A queue per thread, as the worker pool has: fsync blocks, so each needs its own.
                DispatchQueue(label: "bench.files.\(index)").async(group: group) {
                    while true {
                        cursor.lock.lock()
                        let job = cursor.next < finished.count ? finished[cursor.next] : nil
                        cursor.next += 1
                        cursor.lock.unlock()
                        guard let job else { return }
                        written.enter()
                        groups.deliver(job.id, job: job) { id, delivered in
                            if !delivered {
                                cursor.lock.lock()
                                cursor.failure = BenchError("could not write the result file of \(id)")
                                cursor.lock.unlock()
                            }
                            written.leave()
                        }
                    }
                }
            }
            group.wait()
            written.wait()
        }
        if let failure = cursor.failure { throw failure }
        return Double(jobs) / elapsed
    }

    /// Jobs per second of `agentq worker --drain` on `jobs` queued echo lines (process start included).
    private func drainRate() throws -> Double {
        let drain = try timedDrain(binary, jobs: jobs, concurrency: concurrency, prefetch: nil)
        return Double(drain.files) / drain.seconds
    }

    /// A finished job as the echo agent leaves it for the line `index` of ``bulkFile(lines:)``.
    static func echoJob(_ index: Int) -> Job {
        let input = "Summarise item number \(index) in one sentence."
        let now = Timestamp.now
        return Job(
            seq: Int64(index + 1), id: SortableID.make(prefix: "job_"), customID: "row-\(index)",
            batchID: "bat_01m8sce7hp54w4s6ty4zkc5t23", handler: "echo", input: input, runAt: now, maxAttempts: 3,
            attempts: 1, status: .succeeded,
            output: #"{"response":"echo: \#(input)","tool_calls":[],"usage":{"input_tokens":7,"output_tokens":8,"cached_input_tokens":0,"cache_write_tokens":0,"reasoning_tokens":0,"cost_usd":0.000000},"steps":1}"#,
            createdAt: now, startedAt: now, finishedAt: now, version: 2)
    }
}
