/// The check every bulk line passes first: exactly one JSON object, strict RFC 8259, UTF-8.
///
/// Stricter than Foundation's `JSONSerialization` in three deliberate ways: no trailing
/// comma before `]` or `}`, no byte-order mark, no UTF-16 or UTF-32 text; and nesting stops at
/// 64 levels (Foundation's is 512). Numbers that overflow a double (`1e999`) are refused, as
/// Foundation refuses them. `make fuzz` compares the two on a million generated lines.
///
/// ```swift
/// try Array(#"{"input": "hi"}"#.utf8).withUnsafeBytes { try JSONObjectLine.validate($0) }
/// ```
public enum JSONObjectLine {
    /// - throws: ``BulkLineError`` saying what is wrong with the bytes.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.contains(where: { $0 >= 0x80 }), String(validating: bytes, as: UTF8.self) == nil {
            throw BulkLineError("invalid UTF-8")
        }
        var scanner = JSONLineScanner(bytes)
        try scanner.readObject { _, _ in }
    }
}
