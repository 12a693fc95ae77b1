import AgentQ
import AgentQTesting
import Foundation
import GRDB
import JobQueue
import Testing

/// Submitting a file a chunk at a time: same verdicts as reading it whole, and all-or-nothing
/// even when the bad line comes after many chunks have been written.
@Suite("Streaming submit")
struct StreamingSubmitTests {
    /// Lines of every kind a chunk boundary could cut: CRLF, blank, long, multi-byte, bad, and no final newline.
    static let awkwardFile: Data = {
        var text = ""
        for index in 1...300 {
            switch index % 7 {
            case 0: text += "\r\n"
            case 1: text += "{\"input\":\"caf\u{E9} \u{1F600} \(index)\"}\r\n"
            case 2: text += "{\"input\":\"\(String(repeating: "long ", count: 400))\(index)\"}\n"
            case 3: text += "{\"input\": oops \(index)}\n"
            case 4: text += "   \t \n"
            case 5: text += "{\"input\":\"x\(index)\",\"run_at\":\"2026-11-21T15:00:00.25+01:00\"}\n"
            default: text += "{\"input\":\"\(index)\"}\n"
            }
        }
        text += "{\"input\":\"last, no newline\"}"
        return Data(text.utf8)
    }()

    @Test("reading in chunks of any size gives exactly the entries of the whole file")
    func chunkSizes() throws {
        let whole = BulkFileParserTests.summary(BulkFileParser.parse(Self.awkwardFile, source: "f.jsonl"))
        #expect(whole.count > 200)
        for chunkSize in [1, 2, 3, 7, 64, 1000, 4096, 1 << 20] {
            let reader = BulkFileReader(data: Self.awkwardFile, source: "f.jsonl", chunkSize: chunkSize)
            var entries: [BulkFileParser.Entry] = []
            while let next = try reader.next() { entries += next }
            let streamed = BulkFileParserTests.summary(entries)
            let firstDifference = zip(streamed, whole).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            #expect(streamed == whole, "chunk size \(chunkSize): first difference at entry \(firstDifference ?? min(streamed.count, whole.count))")
        }
    }

    /// A read that fails (the disk went away) while chunks are being read ahead.
    struct DiskGone: Error {}

    @Test("reading ahead: a failed read comes after every line before it, in order, and the end stops the reads")
    func readAheadOrder() throws {
        // Lines of one length, ten a chunk, so the reader's Nth call to `read` fills chunk N.
        let line = Array(#"{"input":"000000"}"#.utf8) + [0x0A]
        let chunk = 10 * line.count
        for failing in [1, 2, 4, nil] as [Int?] {
            let calls = SharedBox(0)
            let reader = BulkFileReader(source: "r.jsonl", chunkSize: chunk) { target in
                calls.update { $0 += 1 }
                let call = calls.current
                if call == failing { throw DiskGone() }
                guard call <= 5 else { return 0 }   // five chunks, then the end
                for index in 0..<10 {
                    let text = Array(String(format: #"{"input":"%06d"}"#, (call - 1) * 10 + index + 1).utf8) + [0x0A]
                    UnsafeMutableRawBufferPointer(rebasing: target[(index * line.count)...]).copyBytes(from: text)
                }
                return chunk
            }
            var inputs: [String] = []
            var failed = false
            do {
                while let entries = try reader.next() {
                    for case .line(let line) in entries { inputs.append(line.input) }
                }
            } catch is DiskGone {
                failed = true
            }
            let expected = ((failing ?? 6) - 1) * 10
            #expect(inputs == (0..<expected).map { String(format: "%06d", $0 + 1) }, "failing at read \(failing.map(String.init) ?? "none")")
            #expect(failed == (failing != nil))
            if failing == nil {
                // The end was read once (the sixth call), and nothing is read after it.
                #expect(try reader.next() == nil)
                #expect(calls.current == 6)
            }
        }
    }

    /// A file of `count` good lines followed by `last`.
    static func file(_ count: Int, then last: String) -> Data {
        var text = ""
        text.reserveCapacity(count * 24)
        for index in 1...count { text += "{\"input\":\"line \(index)\"}\n" }
        return Data((text + last + "\n").utf8)
    }

    @Test("a bad last line after several written chunks rejects the file and leaves no job, no batch")
    func badLastLine() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let count = 3 * SQLiteJobStore.rowsPerTransaction
        for (last, reason) in [(#"{"input": "x""#, "not valid JSON"), (#"{"input":"x","agent":"ghost"}"#, "unknown agent 'ghost'")] {
            let reader = BulkFileReader(data: Self.file(count, then: last), source: "big.jsonl", chunkSize: 16 * 1024)
            do {
                let report = try test.queue.submit(reader, options: SubmitOptions(source: "big.jsonl"))
                Issue.record("accepted \(report.jobs) jobs")
            } catch let rejected as SubmitRejected {
                #expect(rejected.invalidLines.map(\.line) == [count + 1])
                #expect(rejected.invalidLines.first?.reason.hasPrefix(reason) == true, "\(rejected)")
            }
            let rows = try test.queue.sqliteDatabase!.read { db in
                try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM batches)")
            }
            #expect(rows == 0, "jobs or batches left behind after the rejection of a file ending in \(last)")
        }
    }

    @Test("with skipInvalid a bad last line is listed and the rest goes live")
    func skipInvalidLastLine() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let count = 2 * SQLiteJobStore.rowsPerTransaction + 5
        let reader = BulkFileReader(data: Self.file(count, then: "nope"), source: "s.jsonl", chunkSize: 8 * 1024)
        let report = try test.queue.submit(reader, options: SubmitOptions(source: "s.jsonl", skipInvalid: true))
        #expect(report.jobs == count)
        #expect(report.skipped.map(\.description) == ["s.jsonl:\(count + 1): not valid JSON"])
        #expect(try test.store.counts(batchID: report.batchID).queued == count)
    }

    @Test("lines are written while the file is still being read")
    func writesWhileReading() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let data = Self.file(4 * SQLiteJobStore.rowsPerTransaction, then: #"{"input":"end"}"#)
        var offset = 0
        var stagedAtEnd: Int?
        let reader = BulkFileReader(source: "w.jsonl", chunkSize: 32 * 1024) { target in
            let count = min(target.count, data.count - offset)
            if count == 0 {
                stagedAtEnd = try test.queue.sqliteDatabase!.read { db in
                    // Chunks of `rowsPerTransaction` jobs each, waiting for the batch to go live.
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM batch_chunks").map { $0 * SQLiteJobStore.rowsPerTransaction }
                }
                return 0
            }
            data.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + count])) }
            offset += count
            return count
        }
        let report = try test.queue.submit(reader, options: SubmitOptions(source: "w.jsonl"))
        #expect(report.jobs == 4 * SQLiteJobStore.rowsPerTransaction + 1)
        // Most of the file was already in the database, not yet claimable, when the input ended.
        #expect((stagedAtEnd ?? 0) >= 3 * SQLiteJobStore.rowsPerTransaction, "staged when the input ended: \(stagedAtEnd ?? -1)")
        #expect(try test.store.counts(batchID: report.batchID).queued == report.jobs)
    }

    @Test("a file and a pipe are read to their end; a missing file is named")
    func fileAndPipe() throws {
        let test = try TestQueue()
        defer { test.remove() }
        let data = Self.file(1000, then: #"{"input":"end"}"#)
        let url = test.directory.url.appendingPathComponent("in.jsonl")
        try data.write(to: url)
        #expect(try test.queue.submit(fileAt: url, options: SubmitOptions(source: "in.jsonl")).jobs == 1001)

        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(data)
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let reader = try BulkFileReader(fileDescriptor: pipe.fileHandleForReading.fileDescriptor, source: "-")
        #expect(try test.queue.submit(reader, options: SubmitOptions(source: "-")).jobs == 1001)

        let missing = test.directory.url.appendingPathComponent("nope.jsonl")
        do {
            _ = try test.queue.submit(fileAt: missing, options: SubmitOptions(source: missing.path))
            Issue.record("a missing file was accepted")
        } catch let rejected as SubmitRejected {
            #expect(rejected.fileProblem == "cannot read \(missing.path): no such file")
        }
        do {
            _ = try test.queue.submit(fileAt: test.directory.url, options: SubmitOptions(source: "dir"))
            Issue.record("a directory was accepted")
        } catch let rejected as SubmitRejected {
            #expect(rejected.fileProblem == "cannot read dir: permission denied or not a file")
        }
    }
}
