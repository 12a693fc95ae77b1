import Hummingbird

extension Request {
    /// A query parameter that must be a whole number in `range` when given.
    /// - throws: ``APIError`` 400 naming the parameter.
    func queryInt(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.badRequest("query parameter \(name)=\(text) must be a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// A query parameter, nil when absent or empty.
    func queryString(_ name: String) -> String? {
        guard let text = uri.queryParameters.get(name), !text.isEmpty else { return nil }
        return text
    }

    /// A `true`/`false` query parameter.
    /// - throws: ``APIError`` 400 naming the parameter.
    func queryBool(_ name: String) throws -> Bool? {
        guard let text = uri.queryParameters.get(name) else { return nil }
        switch text {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.badRequest("query parameter \(name)=\(text) must be true or false")
        }
    }
}

extension RequestContext {
    /// A path parameter the route declares (`{id}`).
    func pathParameter(_ name: String) throws -> String {
        guard let value = parameters.get(name) else { throw APIError.badRequest("missing path parameter \(name)") }
        return value
    }
}
