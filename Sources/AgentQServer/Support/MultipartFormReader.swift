import Foundation
import JobQueue
import NIOCore

/// Reads a `multipart/form-data` body as it arrives, chunk by chunk, so a file part can be
/// written to disk without ever holding the whole upload in memory.
///
/// ```swift
/// var reader = MultipartFormReader(boundary: boundary)
/// for try await chunk in request.body {
///     try reader.feed(chunk) { event in … }   // .partStart, .data, .partEnd
/// }
/// try reader.finish()
/// ```
struct MultipartFormReader {
    enum Event {
        case partStart(name: String, filename: String?)
        case data(ArraySlice<UInt8>)
        case partEnd
    }

    private enum State { case preamble, afterBoundary, headers, body, epilogue }

    /// `\r\n--boundary`: what ends a part (the body is read as if it began with a line break,
    /// so the first boundary line looks the same).
    private let delimiter: [UInt8]
    private var buffer: [UInt8] = [0x0D, 0x0A]
    private var state = State.preamble
    static let maxHeaderBytes = 16 << 10

    init(boundary: String) { delimiter = Array("\r\n--\(boundary)".utf8) }

    /// The boundary of a `multipart/form-data; boundary=…` content type; nil for any other type.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for part in parts.dropFirst() where part.lowercased().hasPrefix("boundary=") {
            var value = String(part.dropFirst("boundary=".count))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 70 ? nil : value
        }
        return nil
    }

    /// - throws: ``APIError`` 400 when the body is not well-formed multipart.
    mutating func feed(_ chunk: ByteBuffer, _ handle: (Event) throws -> Void) throws {
        buffer.append(contentsOf: chunk.readableBytesView)
        while true {
            switch state {
            case .preamble:
                guard let index = find(delimiter) else {
                    keepTail(delimiter.count - 1)
                    return
                }
                buffer.removeFirst(index + delimiter.count)
                state = .afterBoundary
            case .afterBoundary:
                guard buffer.count >= 2 else { return }
                if buffer[0] == UInt8(ascii: "-"), buffer[1] == UInt8(ascii: "-") {
                    state = .epilogue
                } else if buffer[0] == 0x0D, buffer[1] == 0x0A {
                    buffer.removeFirst(2)
                    state = .headers
                } else {
                    throw Self.malformed("a boundary line is followed by something else than a line break")
                }
            case .headers:
                let headerEnd: Int
                if buffer.count >= 2, buffer[0] == 0x0D, buffer[1] == 0x0A {
                    headerEnd = 0
                } else if let index = find(Array("\r\n\r\n".utf8)) {
                    headerEnd = index + 2
                } else {
                    if buffer.count > Self.maxHeaderBytes { throw Self.malformed("a part's headers are longer than 16 KiB") }
                    return
                }
                let headers = String(decoding: buffer[..<headerEnd], as: UTF8.self)
                buffer.removeFirst(headerEnd + 2)
                let (name, filename) = try Self.disposition(headers)
                try handle(.partStart(name: name, filename: filename))
                state = .body
            case .body:
                if let index = find(delimiter) {
                    if index > 0 { try handle(.data(buffer[..<index])) }
                    try handle(.partEnd)
                    buffer.removeFirst(index + delimiter.count)
                    state = .afterBoundary
                } else {
                    let safe = buffer.count - (delimiter.count - 1)
                    if safe > 0 {
                        try handle(.data(buffer[..<safe]))
                        buffer.removeFirst(safe)
                    }
                    return
                }
            case .epilogue:
                buffer.removeAll()
                return
            }
        }
    }

    /// - throws: ``APIError`` 400 when the body ended before its closing boundary.
    func finish() throws {
        guard state == .epilogue else { throw Self.malformed("the body ends before its closing boundary") }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        ByteSearch.firstIndex(of: needle, in: buffer)
    }

    private mutating func keepTail(_ count: Int) {
        if buffer.count > count { buffer.removeFirst(buffer.count - count) }
    }

    /// The `name` and `filename` of a part's `Content-Disposition: form-data; name="…"; filename="…"`.
    private static func disposition(_ headers: String) throws -> (String, String?) {
        for line in headers.components(separatedBy: "\r\n") {
            let pieces = line.split(separator: ":", maxSplits: 1)
            guard pieces.count == 2, pieces[0].trimmingCharacters(in: .whitespaces).lowercased() == "content-disposition"
            else { continue }
            var name: String?, filename: String?
            for parameter in pieces[1].split(separator: ";").dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                var value = pair[1]
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                switch pair[0].lowercased() {
                case "name": name = value
                case "filename": filename = value
                default: break
                }
            }
            guard let name else { break }
            return (name, filename)
        }
        throw malformed("a part has no Content-Disposition with a name")
    }

    private static func malformed(_ why: String) -> APIError {
        APIError.badRequest("the multipart/form-data body is malformed: \(why)", type: "invalid_multipart")
    }
}
