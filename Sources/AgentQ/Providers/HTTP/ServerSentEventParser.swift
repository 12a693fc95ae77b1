import JobQueue

/// Splits a `text/event-stream` body into events, however the bytes arrive.
///
/// ```swift
/// var parser = ServerSentEventParser()
/// for event in parser.feed(Array("data: {}\n\n".utf8)) { print(event.data) }
/// ```
struct ServerSentEventParser {
    struct Event: Equatable {
        var name: String?
        var data: String
    }

    private var line: [UInt8] = []
    private var name: String?
    private var data: [String] = []
    private var sawCarriageReturn = false

    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Event] {
        if let events = bytes.withContiguousStorageIfAvailable({ feed(UnsafeRawBufferPointer($0)) }) { return events }
        return Array(bytes).withUnsafeBytes { feed($0) }
    }

    /// Takes the bytes between line ends in whole runs (found with `memchr`), not one by one:
    /// a provider's chunk is mostly one long `data:` line.
    private mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        var events: [Event] = []
        var index = 0
        while index < bytes.count {
            if sawCarriageReturn {
                sawCarriageReturn = false
                if bytes[index] == 0x0A {   // \r\n is one line end
                    index += 1
                    continue
                }
            }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[index...])
            let lineFeed = ByteSearch.firstIndex(of: 0x0A, in: rest)
            let carriageReturn = ByteSearch.firstIndex(
                of: 0x0D, in: UnsafeRawBufferPointer(rebasing: rest[..<(lineFeed ?? rest.count)]))
            guard let end = carriageReturn ?? lineFeed else {
                line.append(contentsOf: rest)
                break
            }
            line.append(contentsOf: rest[..<end])
            sawCarriageReturn = rest[end] == 0x0D
            if let event = endLine() { events.append(event) }
            index += end + 1
        }
        return events
    }

    /// Whatever is left when the body ends (a final event without its blank line).
    mutating func finish() -> Event? {
        if !line.isEmpty { _ = endLine() }
        return dispatch()
    }

    private mutating func endLine() -> Event? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty { return dispatch() }
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix(":") { return nil }   // a comment, used as keep-alive
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "event": name = String(value)
        case "data": data.append(String(value))
        default: break   // id, retry: not used by model APIs
        }
        return nil
    }

    private mutating func dispatch() -> Event? {
        defer {
            name = nil
            data.removeAll()
        }
        guard !data.isEmpty || name != nil else { return nil }
        return Event(name: name, data: data.joined(separator: "\n"))
    }
}
