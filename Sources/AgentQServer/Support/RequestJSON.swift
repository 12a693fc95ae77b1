import Foundation
import Hummingbird

/// The JSON object of a request body, read up to the server's JSON limit.
///
/// ```swift
/// let body = try await RequestJSON.object(request, limit: configuration.maxJSONBytes)
/// let message = try body.requiredString("message")
/// ```
struct RequestJSON: Sendable {
    /// The fields, as JSONSerialization reads them (Sendable because nothing mutates them).
    nonisolated(unsafe) let fields: [String: Any]

    init(fields: [String: Any]) { self.fields = fields }

    /// - throws: ``APIError`` 413 when the body is over `limit`, 400 when it is not a JSON object.
    static func object(_ request: Request, limit: Int, emptyAllowed: Bool = false) async throws -> RequestJSON {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is \(length) bytes; this endpoint takes at most \(limit)")
        }
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than \(limit) bytes")
        }
        if buffer.readableBytes == 0 {
            if emptyAllowed { return RequestJSON(fields: [:]) }
            throw APIError.badRequest("the request body is empty; send a JSON object", type: "invalid_json")
        }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(buffer: buffer))
        } catch {
            throw APIError.badRequest("the request body is not valid JSON", type: "invalid_json")
        }
        guard let fields = value as? [String: Any] else {
            throw APIError.badRequest("the request body must be a JSON object", type: "invalid_json")
        }
        return RequestJSON(fields: fields)
    }

    /// A string field that must be there.
    /// - throws: ``APIError`` 400 naming the field.
    func requiredString(_ name: String) throws -> String {
        guard let value = try string(name) else { throw APIError.badRequest("\"\(name)\" is required") }
        return value
    }

    /// A string field, nil when absent or null.
    /// - throws: ``APIError`` 400 naming the field when it is not a string.
    func string(_ name: String) throws -> String? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw APIError.badRequest("\"\(name)\" must be a string") }
        return text
    }

    /// An integer field, nil when absent or null.
    /// - throws: ``APIError`` 400 naming the field when it is not a whole number.
    func int(_ name: String) throws -> Int? {
        guard let value = fields[name], !(value is NSNull) else { return nil }
        // JSONSerialization reads true and false as NSNumbers too; they are not numbers here.
        guard !(value is Bool), let number = value as? NSNumber, let int = Int(exactly: number.doubleValue)
        else { throw APIError.badRequest("\"\(name)\" must be a whole number") }
        return int
    }
}
