import GRDB
import GRDBSQLite

/// The rows of one chunk of an enqueue, their text copied into one byte buffer as they arrive.
///
/// A million-line submission hands over a million ``NewJob`` values. Holding them in an array
/// until their chunk is written cost a copy of each (a retain of every string in it) on the
/// way in, another on every field read while binding, and a release of each on the way out:
/// about 11k instructions a row, a fifth of a submission. Here each row is a few spans into
/// ``bytes`` and three integers; binding points SQLite at the bytes in place
/// (`SQLITE_STATIC`), with no copy or allocation per value.
///
/// A chunk of a bulk submission still loading is kept as one blob (``encoded()``), not as rows
/// of `jobs`: see ``SQLiteJobStore``'s `batch_chunks`.
///
/// ```swift
/// var rows = SQLiteJobRows()
/// rows.append(id: "job_…", NewJob(handler: "echo", input: "hi"))
/// try SQLiteJobInserter.write(rows, batchID: nil, now: now, db: db)
/// ```
struct SQLiteJobRows {
    /// The text columns, in the order of ``SQLiteJobInserter``'s INSERT.
    static let textColumns = 7
    /// `runAt` of a row to run at once: the time of the write.
    static let now = Int64.min

    /// Every row's text, one value after another.
    private(set) var bytes: [UInt8] = []
    /// Per row and text column: where its value starts in ``bytes`` and its length, or -1 for NULL.
    private(set) var spans: [(start: Int, count: Int)] = []
    /// Per row: priority, run-at milliseconds (or ``now``), max attempts.
    private(set) var numbers: [(priority: Int64, runAt: Int64, maxAttempts: Int64)] = []

    var count: Int { numbers.count }

    init() {}

    /// Reads rows written by ``encoded()``.
    /// - throws: ``StoreError`` when `blob` is not such rows (damaged, or from another format).
    init(decoding blob: UnsafeRawBufferPointer) throws {
        func damaged(_ why: String) -> StoreError {
            StoreError(.database, "a chunk of a loading batch cannot be read (\(why)); the batch cannot go live")
        }
        let header = 16
        guard blob.count >= header, blob.loadUnaligned(fromByteOffset: 0, as: UInt32.self).littleEndian == Self.magic else {
            throw damaged("no chunk header")
        }
        let rows = Int(blob.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian)
        let byteCount = Int(blob.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        let lengthsAt = header
        let numbersAt = lengthsAt + rows * Self.textColumns * 4
        let bytesAt = numbersAt + rows * 24
        guard byteCount >= 0, byteCount <= blob.count, bytesAt + byteCount == blob.count else {
            throw damaged("its size is not what its header says")
        }
        reserveCapacity(rows)
        var start = 0
        for index in 0..<rows * Self.textColumns {
            let length = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: lengthsAt + index * 4, as: Int32.self)))
            guard length >= -1, start + max(length, 0) <= byteCount else { throw damaged("a value runs past its end") }
            spans.append((start, length))
            start += max(length, 0)
        }
        guard start == byteCount else { throw damaged("its values do not fill it") }
        for row in 0..<rows {
            func number(_ column: Int) -> Int64 {
                Int64(littleEndian: blob.loadUnaligned(fromByteOffset: numbersAt + row * 24 + column * 8, as: Int64.self))
            }
            numbers.append((number(0), number(1), number(2)))
        }
        bytes = Array(blob[bytesAt...])
    }

    /// "AQR1": a chunk in this layout.
    private static let magic: UInt32 = 0x3152_5141

    /// The rows as one blob: a header (magic, row count, byte count), each text value's length
    /// (-1 for NULL), each row's numbers, then the text itself.
    func encoded() -> [UInt8] {
        let lengthsAt = 16
        let numbersAt = lengthsAt + spans.count * 4
        let bytesAt = numbersAt + numbers.count * 24
        return [UInt8](unsafeUninitializedCapacity: bytesAt + bytes.count) { blob, initialized in
            let raw = UnsafeMutableRawBufferPointer(blob)
            raw.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: UInt64(bytes.count).littleEndian, toByteOffset: 8, as: UInt64.self)
            for (index, span) in spans.enumerated() {
                raw.storeBytes(of: Int32(clamping: span.count).littleEndian, toByteOffset: lengthsAt + index * 4, as: Int32.self)
            }
            for (index, row) in numbers.enumerated() {
                raw.storeBytes(of: row.priority.littleEndian, toByteOffset: numbersAt + index * 24, as: Int64.self)
                raw.storeBytes(of: row.runAt.littleEndian, toByteOffset: numbersAt + index * 24 + 8, as: Int64.self)
                raw.storeBytes(of: row.maxAttempts.littleEndian, toByteOffset: numbersAt + index * 24 + 16, as: Int64.self)
            }
            bytes.withUnsafeBytes { text in
                UnsafeMutableRawBufferPointer(rebasing: raw[bytesAt...]).copyMemory(from: text)
            }
            initialized = bytesAt + bytes.count
        }
    }

    mutating func reserveCapacity(_ rows: Int) {
        spans.reserveCapacity(rows * Self.textColumns)
        numbers.reserveCapacity(rows)
    }

    mutating func append(id: String, _ job: NewJob) {
        appendText(id)
        appendText(job.customID)
        appendText(job.lane)
        appendText(job.handler)
        appendText(job.input)
        appendText(job.metadata)
        appendText(job.options)
        numbers.append((Int64(job.priority), job.runAt?.milliseconds ?? Self.now, Int64(job.maxAttempts)))
    }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        spans.removeAll(keepingCapacity: true)
        numbers.removeAll(keepingCapacity: true)
    }

    private mutating func appendText(_ text: String?) {
        guard var text else {
            spans.append((0, -1))
            return
        }
        let start = bytes.count
        text.withUTF8 { bytes.append(contentsOf: $0) }
        spans.append((start, bytes.count - start))
    }

    /// Binds text column `column` (0-based, of ``textColumns``) of `row` to `index`, pointing at
    /// `base` (``bytes``' storage), which must stay valid until the statement is stepped and reset.
    /// - returns: SQLite's result code (`SQLITE_TOOBIG` for a value over its length limit).
    func bindText(
        _ statement: SQLiteStatement, _ index: Int32, row: Int, column: Int, base: UnsafePointer<UInt8>?
    ) -> Int32 {
        let span = spans[row * Self.textColumns + column]
        guard span.count >= 0 else { return bindTextInPlace(statement, index, nil) }
        return bindTextInPlace(statement, index, UnsafeBufferPointer(start: base.map { $0 + span.start }, count: span.count))
    }

    /// The row with the most text, to name it in an error.
    func largestRow() -> (id: String, customID: String?, bytes: Int) {
        var largest = (row: 0, bytes: -1)
        for row in 0..<count {
            let bytes = (0..<Self.textColumns).reduce(0) { $0 + max(spans[row * Self.textColumns + $1].count, 0) }
            if bytes > largest.bytes { largest = (row, bytes) }
        }
        return (id(of: largest.row), text(of: largest.row, column: 1), max(largest.bytes, 0))
    }

    /// The ID of `row`, to name it in an error.
    func id(of row: Int) -> String { text(of: row, column: 0) ?? "" }

    private func text(of row: Int, column: Int) -> String? {
        let span = spans[row * Self.textColumns + column]
        guard span.count >= 0 else { return nil }
        return String(decoding: bytes[span.start..<span.start + span.count], as: UTF8.self)
    }
}
