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
        var events: [Event] = []
        for byte in bytes {
            if sawCarriageReturn {
                sawCarriageReturn = false
                if byte == 0x0A { continue }   // \r\n is one line end
            }
            if byte == 0x0A || byte == 0x0D {
                sawCarriageReturn = byte == 0x0D
                if let event = endLine() { events.append(event) }
            } else {
                line.append(byte)
            }
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
