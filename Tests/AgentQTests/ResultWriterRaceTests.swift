import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

@Suite("Result files under racing writers")
struct ResultWriterRaceTests {
    static func job(status: JobStatus, attempts: Int, outputBytes: Int, version: Int64 = 0) -> Job {
        let response = String(repeating: "x", count: outputBytes)
        return Job(
            seq: 7, id: "job_01race000000000000000000000", handler: "echo", input: "hi", runAt: .now, maxAttempts: 3,
            attempts: attempts, status: status,
            output: #"{"response":""# + response + #"","tool_calls":[],"usage":{"input_tokens":1,"output_tokens":1},"steps":1}"#,
            error: status == .failed ? JobError(type: "e", message: "m") : nil, createdAt: .now, finishedAt: .now,
            version: version)
    }

    @Test("two threads delivering one job at once, thousands of times: never an error, always a whole file")
    func concurrentDeliveriesAreWhole() throws {
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
        for _ in 0..<1500 {
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                do { try writer.deliver([index == 0 ? a : b]) } catch { errors.update { $0.append("\(error)") } }
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

    @Test("an older state delivered at the same time as a newer one never replaces it")
    func newerStateWins() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let writer = ResultWriter(directory: directory.url)
        let older = Self.job(status: .failed, attempts: 1, outputBytes: 50_000, version: 2)
        let newer = Self.job(status: .succeeded, attempts: 2, outputBytes: 60_000, version: 4)
        let url = directory.url.appendingPathComponent("\(older.id).json")
        var stale = 0
        for round in 0..<2000 {
            DispatchQueue.concurrentPerform(iterations: 2) { index in
                // Alternate which one starts first.
                try? writer.deliver([(index + round) % 2 == 0 ? older : newer])
            }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
            if object["status"] as? String != "succeeded" || object["version"] as? Int != 4 { stale += 1 }
            // The next round starts from the older state on disk again.
            try FileManager.default.removeItem(at: url)
        }
        #expect(stale == 0, "the older state won \(stale) of 2000 rounds")
    }
}
