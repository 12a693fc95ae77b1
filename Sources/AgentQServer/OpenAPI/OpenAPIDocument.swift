import Foundation

/// The OpenAPI 3.1 document of `agentq serve`, served at `GET /openapi.json`.
///
/// Built in Swift (no resource bundle: the binary stays self-contained). The response schemas
/// describe the documents the routes really send — ``SessionDocument``, ``ResultDocument``,
/// ``JobDocument``, ``BatchDocument``, `SubmitReport.json`, `AgentDefinition.jsonText` and
/// OpenAI's file and batch objects — and a test validates real responses against them.
///
/// ```swift
/// let text = OpenAPIDocument.jsonText   // {"openapi":"3.1.0",…}
/// ```
public enum OpenAPIDocument {
    /// The document as JSON text, keys sorted.
    public static let jsonText: String = {
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }()

    // MARK: - Building blocks

    typealias Schema = [String: Any]

    static func ref(_ name: String) -> Schema { ["$ref": "#/components/schemas/\(name)"] }
    static var string: Schema { ["type": "string"] }
    static var integer: Schema { ["type": "integer"] }
    static var number: Schema { ["type": "number"] }
    static var boolean: Schema { ["type": "boolean"] }
    static var timestamp: Schema { ["type": "string", "format": "date-time"] }
    static func nullable(_ type: String, format: String? = nil) -> Schema {
        var schema: Schema = ["type": [type, "null"]]
        if let format { schema["format"] = format }
        return schema
    }
    /// `schema`, or null.
    static func orNull(_ schema: Schema) -> Schema {
        var schema = schema
        if let type = schema["type"] as? String { schema["type"] = [type, "null"] }
        return schema
    }
    static func array(_ items: Schema) -> Schema { ["type": "array", "items": items] }
    static func oneOf(_ values: [String]) -> Schema { ["type": "string", "enum": values] }
    /// An object with these properties; `required` lists the ones always present.
    static func object(_ properties: [String: Schema], required: [String]? = nil, closed: Bool = false) -> Schema {
        var schema: Schema = ["type": "object", "properties": properties, "required": required ?? properties.keys.sorted()]
        if closed { schema["additionalProperties"] = false }
        return schema
    }

    static func json(_ schema: Schema, _ description: String) -> Schema {
        ["description": description, "content": ["application/json": ["schema": schema]]]
    }

    static var errorDescriptions: [Int: String] {
        [
        400: "Bad JSON, a bad field or query parameter (the message names it)",
        401: "Missing or wrong bearer token (when AGENTQ_API_TOKEN is set)",
        404: "Unknown ID, agent or endpoint",
        409: "A state conflict: a message to an ended session, cancelling a finished job",
        413: "The request body is over the limit",
        422: "Valid JSON that cannot be acted on",
    ]
    }

    /// `responses` of an operation: the successes given, and the error document for each 4xx.
    static func responses(_ successes: [Int: Schema], errors: [Int], authenticated: Bool = true) -> Schema {
        var responses: Schema = [:]
        for (status, response) in successes { responses[String(status)] = response }
        for status in errors + (authenticated ? [401] : []) {
            responses[String(status)] = ["$ref": "#/components/responses/Error\(status)"]
        }
        return responses
    }

    static func operation(
        _ id: String, _ summary: String, tag: String, parameters: [Schema] = [], body: Schema? = nil,
        _ successes: [Int: Schema], errors: [Int] = [], authenticated: Bool = true
    ) -> Schema {
        var operation: Schema = [
            "operationId": id, "summary": summary, "tags": [tag],
            "responses": responses(successes, errors: errors, authenticated: authenticated),
        ]
        if !authenticated { operation["security"] = [Schema]() }
        if !parameters.isEmpty { operation["parameters"] = parameters }
        if let body { operation["requestBody"] = body }
        return operation
    }

    static func pathParameter(_ name: String, _ description: String) -> Schema {
        ["name": name, "in": "path", "required": true, "description": description, "schema": string]
    }

    static func query(_ name: String, _ schema: Schema, _ description: String) -> Schema {
        ["name": name, "in": "query", "required": false, "description": description, "schema": schema]
    }

    static func jsonBody(_ schema: Schema) -> Schema {
        ["required": true, "content": ["application/json": ["schema": schema]]]
    }

    static var pagination: [Schema] {
        [
        query("limit", ["type": "integer", "minimum": 1], "Most items to return"),
        query("after", string, "Return the items after this ID (the last ID of the previous page)"),
    ]
    }

    // MARK: - The document

    static var document: Schema {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "agentq",
                "version": "1",
                "description": "The HTTP API of `agentq serve`: sessions with streaming, jobs, batches, agents, "
                    + "and the OpenAI Batch API under /v1. Every error is {\"error\": {\"type\", \"message\"}}.",
            ],
            "servers": [["url": "http://127.0.0.1:2323"]],
            "security": [["bearer": [String]()]],
            "paths": paths,
            "components": [
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
                "schemas": OpenAPISchemas.all,
                "responses": Dictionary(uniqueKeysWithValues: errorDescriptions.map { status, description in
                    ("Error\(status)", json(ref("Error"), description))
                }),
            ],
        ]
    }

    static var paths: Schema {
        var paths: Schema = [:]
        for (path, item) in OpenAPIPaths.operations + OpenAPIPaths.openAIOperations {
            paths[path] = item
        }
        return paths
    }
}
