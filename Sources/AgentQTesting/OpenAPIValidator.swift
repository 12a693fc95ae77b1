import AgentQ
import Foundation

/// Checks HTTP responses against an OpenAPI 3.1 document: the operation for the method and
/// path template, the status, the content type, and the body against its schema.
///
/// The schema subset is the one agentq's document uses: `type` (a name or an array of names,
/// `"null"` among them), `properties`, `required`, `items`, `enum`, `$ref` to
/// `#/components/…`, `additionalProperties` (false or a schema); `description`, `format`,
/// `minimum`, `title` and `contentMediaType` are annotations. Any other keyword is reported, so
/// the document cannot lean on a check this validator would silently skip.
///
/// ```swift
/// let validator = try OpenAPIValidator(json: document)
/// let problems = validator.check(method: "GET", path: "/jobs/job_1", status: 200,
///                                contentType: "application/json", body: response.body)
/// #expect(problems.isEmpty, "\(problems)")
/// ```
public struct OpenAPIValidator: Sendable {
    public let document: JSONValue

    static let annotations: Set<String> = ["description", "format", "minimum", "title", "contentMediaType", "example"]
    static let keywords: Set<String> = ["type", "properties", "required", "items", "enum", "$ref", "additionalProperties"]

    /// - throws: when `json` is not a JSON object.
    public init(json: Data) throws {
        document = try JSONDecoder().decode(JSONValue.self, from: json)
        guard case .object = document else { throw ValidationError(problems: ["the document is not a JSON object"]) }
    }

    public struct ValidationError: Error, CustomStringConvertible {
        public var problems: [String]
        public var description: String { problems.joined(separator: "\n") }
    }

    // MARK: - Responses

    /// The path template of the document that `path` (query string ignored) matches, literal
    /// segments preferred over `{parameters}`.
    public func template(for path: String) -> String? {
        let segments = Self.segments(path)
        guard case .object(let paths)? = document["paths"] else { return nil }
        let candidates = paths.keys.filter { template in
            let parts = Self.segments(template)
            return parts.count == segments.count
                && zip(parts, segments).allSatisfy { $0.hasPrefix("{") && $0.hasSuffix("}") || $0 == $1 }
        }
        // The fewest parameters wins: /v1/files/{id}/content over /v1/{a}/{b}/content.
        return candidates.min { Self.parameterCount($0) < Self.parameterCount($1) || (Self.parameterCount($0) == Self.parameterCount($1) && $0 < $1) }
    }

    /// Every way the response breaks the document (empty: it conforms).
    public func check(method: String, path: String, status: Int, contentType: String?, body: Data) -> [String] {
        let where_ = "\(method) \(path) → \(status)"
        guard let template = template(for: path) else { return ["\(where_): no path of the document matches"] }
        guard let operation = document["paths"]?[template]?[method.lowercased()] else {
            return ["\(where_): \(template) has no \(method) operation"]
        }
        guard var response = operation["responses"]?[String(status)] else {
            return ["\(where_): status \(status) is not documented for \(method) \(template)"]
        }
        if case .string(let reference)? = response["$ref"] {
            guard let target = resolve(reference) else { return ["\(where_): unresolvable \(reference)"] }
            response = target
        }
        guard case .object(let contents)? = response["content"] else {
            return body.isEmpty ? [] : ["\(where_): documented without a body, got \(body.count) bytes"]
        }
        let mediaType = (contentType ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let media = contents[mediaType] else {
            return ["\(where_): content type '\(mediaType)' is not documented (documented: \(contents.keys.sorted().joined(separator: ", ")))"]
        }
        let schema = media["schema"] ?? .object([:])
        switch mediaType {
        case "application/json":
            guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else { return ["\(where_): the body is not JSON"] }
            return validate(value, against: schema).map { "\(where_): \($0)" }
        case "application/x-ndjson", "application/jsonl":
            var problems: [String] = []
            for (number, line) in body.split(separator: UInt8(ascii: "\n")).enumerated() {
                guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(line)) else {
                    problems.append("\(where_): line \(number + 1) is not JSON")
                    continue
                }
                problems += validate(value, against: schema, at: "line \(number + 1)").map { "\(where_): \($0)" }
            }
            return problems
        default:
            guard String(data: body, encoding: .utf8) != nil else { return ["\(where_): the body is not UTF-8 text"] }
            return validate(.string(""), against: schema).map { "\(where_): \($0)" }
        }
    }

    // MARK: - Schemas

    /// Every way `value` breaks `schema`, each naming where (`$.a.b[2]`).
    public func validate(_ value: JSONValue, against schema: JSONValue, at location: String = "$") -> [String] {
        guard case .object(let keywords) = schema else { return ["\(location): the schema is not an object"] }
        var problems: [String] = []
        for key in keywords.keys.sorted() where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
            problems.append("\(location): unsupported schema keyword '\(key)'")
        }
        if case .string(let reference)? = keywords["$ref"] {
            guard let target = resolve(reference) else { return problems + ["\(location): unresolvable $ref \(reference)"] }
            return problems + validate(value, against: target, at: location)
        }
        if let type = keywords["type"] {
            let allowed: [String]
            switch type {
            case .string(let name): allowed = [name]
            case .array(let names): allowed = names.compactMap(\.stringValue)
            default: return problems + ["\(location): 'type' is neither a name nor an array of names"]
            }
            guard allowed.contains(where: { Self.matches(value, type: $0) }) else {
                return problems + ["\(location): expected \(allowed.joined(separator: " or ")), got \(Self.describe(value))"]
            }
        }
        if case .array(let options)? = keywords["enum"], !options.contains(value) {
            problems.append("\(location): \(Self.describe(value)) is not one of \(options.map(Self.describe).joined(separator: ", "))")
        }
        if case .object(let fields) = value {
            let properties: [String: JSONValue]
            if case .object(let declared)? = keywords["properties"] { properties = declared } else { properties = [:] }
            if case .array(let required)? = keywords["required"] {
                for name in required.compactMap(\.stringValue) where fields[name] == nil {
                    problems.append("\(location): missing required property '\(name)'")
                }
            }
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] {
                    problems += validate(field, against: property, at: "\(location).\(name)")
                } else {
                    switch keywords["additionalProperties"] {
                    case .bool(false)?: problems.append("\(location): unexpected property '\(name)'")
                    case .object(let extra)?: problems += validate(field, against: .object(extra), at: "\(location).\(name)")
                    default: break
                    }
                }
            }
        }
        if case .array(let items) = value, let itemSchema = keywords["items"] {
            for (index, item) in items.enumerated() {
                problems += validate(item, against: itemSchema, at: "\(location)[\(index)]")
            }
        }
        return problems
    }

    /// Keywords outside the subset anywhere in the document's component schemas and in the
    /// schemas of its responses, each with where it is.
    public func unsupportedKeywords() -> [String] {
        var found: [String] = []
        func walk(_ schema: JSONValue, _ location: String) {
            guard case .object(let keywords) = schema else { return }
            for key in keywords.keys.sorted() where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
                found.append("\(location): '\(key)'")
            }
            if case .object(let properties)? = keywords["properties"] {
                for (name, property) in properties { walk(property, "\(location).properties.\(name)") }
            }
            if let items = keywords["items"] { walk(items, "\(location).items") }
            if let extra = keywords["additionalProperties"] { walk(extra, "\(location).additionalProperties") }
        }
        if case .object(let schemas)? = document["components"]?["schemas"] {
            for (name, schema) in schemas { walk(schema, "#/components/schemas/\(name)") }
        }
        if case .object(let paths)? = document["paths"] {
            for (path, item) in paths {
                guard case .object(let operations) = item else { continue }
                for (method, operation) in operations {
                    guard case .object(let responses)? = operation["responses"] else { continue }
                    for (status, response) in responses {
                        guard case .object(let contents)? = response["content"] else { continue }
                        for (media, content) in contents {
                            if let schema = content["schema"] { walk(schema, "\(method) \(path) \(status) \(media)") }
                        }
                    }
                }
            }
        }
        return found.sorted()
    }

    /// Every operation of the document, as `METHOD /template`.
    public var operations: [String] {
        guard case .object(let paths)? = document["paths"] else { return [] }
        return paths.flatMap { path, item -> [String] in
            guard case .object(let fields) = item else { return [] }
            return fields.keys.filter { ["get", "put", "post", "delete", "patch"].contains($0) }.map { "\($0.uppercased()) \(path)" }
        }.sorted()
    }

    /// `#/components/schemas/Name` (or any `#/…` pointer) in the document.
    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = document
        for part in reference.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
        return node
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object), ("number", .number):
            return true
        case ("integer", .number(let number)):
            return number.rounded() == number
        default:
            return false
        }
    }

    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return "boolean \(flag)"
        case .number(let number): return "number \(number)"
        case .string(let text): return "string \"\(text.prefix(40))\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    static func segments(_ path: String) -> [String] {
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        return bare.split(separator: "/").map(String.init)
    }

    static func parameterCount(_ template: String) -> Int { segments(template).filter { $0.hasPrefix("{") }.count }
}

extension JSONValue {
    /// The member of an object, nil for anything else.
    fileprivate subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}
