import Dispatch
import Foundation

/// Splits a bulk file into lines and decodes them, in parallel, keeping file order.
///
/// ```swift
/// let parsed = BulkFileParser.parse(data, source: "prompts.jsonl")
/// ```
public enum BulkFileParser {
    public enum Entry: Sendable {
        case line(BulkLine)
        case invalid(InvalidLine)
    }

    /// Decodes every non-blank line; a `\r\n` ending and a missing final newline are fine.
    /// ``BulkFileReader`` does the same a chunk at a time, for files too large to hold.
    public static func parse(_ data: Data, source: String) -> [Entry] {
        data.withUnsafeBytes { parseLines($0, firstLineNumber: 1, source: source).entries }
    }

    /// Decodes the lines of `buffer`, numbering them from `firstLineNumber`. The buffer holds
    /// whole lines: its last line is the text after its last newline (a blank one if it ends in one).
    /// - returns: the entries, and how many lines (blank ones included) the buffer held.
    static func parseLines(
        _ buffer: UnsafeRawBufferPointer, firstLineNumber: Int, source: String
    ) -> (entries: [Entry], lineCount: Int) {
        var ranges: [Range<Int>] = []
        var lineNumbers: [Int] = []
        var start = 0
        var lineNumber = firstLineNumber
        let count = buffer.count
        while start <= count {
            var end = start
            if let base = buffer.baseAddress, start < count,
                let found = memchr(base + start, 0x0A, count - start)
            {
                end = base.distance(to: UnsafeRawPointer(found))
            } else {
                end = count
            }
            var trimmedEnd = end
            if trimmedEnd > start && buffer[trimmedEnd - 1] == 0x0D { trimmedEnd -= 1 }
            if !isBlank(buffer, start..<trimmedEnd) {
                ranges.append(start..<trimmedEnd)
                lineNumbers.append(lineNumber)
            }
            lineNumber += 1
            start = end + 1
        }
        let lineCount = lineNumber - firstLineNumber
        guard !ranges.isEmpty else { return ([], lineCount) }

        // Decoding is most of the cost, so chunks of lines are decoded on every core.
        let chunkSize = 2048
        let chunkCount = (ranges.count + chunkSize - 1) / chunkSize
        let results = UnsafeMutableBufferPointer<Entry?>.allocate(capacity: ranges.count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        nonisolated(unsafe) let output = results
        nonisolated(unsafe) let bytes = buffer
        let lineRanges = ranges, numbers = lineNumbers
        DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
            let lower = chunk * chunkSize
            let upper = min(lower + chunkSize, lineRanges.count)
            for index in lower..<upper {
                let range = lineRanges[index]
                do {
                    output[index] = .line(try BulkLine.decode(bytes[range], lineNumber: numbers[index]))
                } catch let error as BulkLineError {
                    output[index] = .invalid(InvalidLine(source: source, line: numbers[index], reason: error.reason))
                } catch {
                    output[index] = .invalid(InvalidLine(source: source, line: numbers[index], reason: "\(error)"))
                }
            }
        }
        return (results.map { $0! }, lineCount)
    }

    private static func isBlank(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        for index in range {
            switch buffer[index] {
            case 0x20, 0x09, 0x0D: continue
            default: return false
            }
        }
        return true
    }
}
