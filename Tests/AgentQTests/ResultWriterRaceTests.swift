import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Result files under racing writers")
struct ResultWriterRaceTests {
    static func job(status: JobStatus, attempts: Int, outputBytes: Int, version: Int64 = 0, id: String = "job_01race000000000000000000000") -> Job {
        let response = String(repeating: "x", count: outputBytes)
        return Job(
            seq: 7, id: id, handler: "echo", input: "hi", runAt: .now, maxAttempts: 3,
            attempts: attempts, status: status,
            output: #"{"response":""# + response + #"","tool_calls":[],"usage":{"input_tokens":1,"output_tokens":1},"steps":1}"#,
            error: status == .failed ? JobError(type: "e", message: "m") : nil, createdAt: .now, finishedAt: .now,
            version: version)
    }

    /// The job alone, or in a group with another job (the grouped path: every temporary file,
    /// one syncfs, then the renames).
    static func delivery(_ job: Job, grouped: Bool, thread: Int) -> [Job] {
        guard grouped else { return [job] }
        let other = Self.job(status: .succeeded, attempts: 1, outputBytes: 100, id: "job_01fill00000000000000000000\(thread)")
        return thread == 0 ? [job, other] : [other, job]
    }

    @Test("two threads delivering one job at once, thousands of times: never an error, always a whole file", arguments: [false, true])
    func concurrentDeliveriesAreWhole(grouped: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = ResultWriter(directory: directory.url)
        let a = Self.job(status: .failed, attempts: 1, outputBytes: 300_000)
        let b = Self.job(status: .failed, attempts: 1, outputBytes: 200_000)
        let path = directory.url.appendingPathComponent("\(a.id).json").path
        let errors = SharedBox<[String]>([])
        let stop = SharedBox(false)
        let torn = SharedBox(0)
        // A reader watches the file the whole time: it must always parse.
        let reader = Thread {
            while !stop.current {
                if let data = FileManager.default.contents(atPath: path),
                    (try? JSONSerialization.jsonObject(with: data)) == nil
                {
                    torn.update { $0 += 1 }
                }
            }
        }
        reader.start()
        for _ in 0..<(grouped ? 500 : 1500) {
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                do {
                    try writer.deliver(Self.delivery(index == 0 ? a : b, grouped: grouped, thread: index))
                } catch {
                    errors.update { $0.append("\(error)") }
                }
            }
        }
        stop.update { $0 = true }
        Thread.sleep(forTimeInterval: 0.05)
        let failures = errors.current
        #expect(failures.isEmpty, "\(failures.count) deliveries failed, e.g. \(failures.first ?? "")")
        #expect(torn.current == 0, "a reader saw a partial file \(torn.current) times")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("an older state delivered at the same time as a newer one never replaces it", arguments: [false, true])
    func newerStateWins(grouped: Bool) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = ResultWriter(directory: directory.url)
        let older = Self.job(status: .failed, attempts: 1, outputBytes: 50_000, version: 2)
        let newer = Self.job(status: .succeeded, attempts: 2, outputBytes: 60_000, version: 4)
        let url = directory.url.appendingPathComponent("\(older.id).json")
        var stale = 0
        let rounds = grouped ? 700 : 2000
        for round in 0..<rounds {
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                // Alternate which one starts first.
                try? writer.deliver(Self.delivery((index + round) % 2 == 0 ? older : newer, grouped: grouped, thread: index))
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            if object["status"] as? String != "succeeded" || object["version"] as? Int != 4 { stale += 1 }
            // The next round starts from the older state on disk again.
            try FileManager.default.removeItem(at: url)
        }
        #expect(stale == 0, "the older state won \(stale) of \(rounds) rounds")
    }

    @Test("a group with two states of one job, in either order, leaves the newer one and no temporary file")
    func groupKeepsTheNewerState() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = ResultWriter(directory: directory.url)
        let older = Self.job(status: .failed, attempts: 1, outputBytes: 10, version: 2)
        let newer = Self.job(status: .succeeded, attempts: 2, outputBytes: 10, version: 4)
        let url = directory.url.appendingPathComponent("\(older.id).json")
        for order in [[older, newer], [newer, older]] {
            try writer.deliver(order)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            #expect(object["version"] as? Int == 4)
            try FileManager.default.removeItem(at: url)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}
