import AgentQ
import AgentQTesting
import Foundation
import Testing

extension ServerSuite {
    /// The validator the conformance test relies on: it must reject what breaks a schema, or the
    /// conformance test could pass on anything.
    @Suite struct OpenAPIValidatorTests {
        static let document = #"""
        {"openapi": "3.1.0", "paths": {
          "/things/{id}": {"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
            "404": {"$ref": "#/components/responses/NotFound"}}}},
          "/things/{id}/lines": {"get": {"responses": {
            "200": {"content": {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}},
          "/things/special": {"get": {"responses": {"204": {"description": "nothing"}}}}},
         "components": {
          "responses": {"NotFound": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
          "schemas": {
            "Error": {"type": "object", "required": ["error"], "additionalProperties": false,
                      "properties": {"error": {"type": "object", "required": ["type", "message"],
                                     "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}},
            "Thing": {"type": "object", "required": ["id", "size", "kind"], "additionalProperties": false,
                      "properties": {"id": {"type": "string"}, "size": {"type": "integer"}, "note": {"type": ["string", "null"]},
                                     "kind": {"type": "string", "enum": ["a", "b"]},
                                     "tags": {"type": "array", "items": {"type": "string"}},
                                     "extra": {"type": "object", "additionalProperties": {"type": "number"}}}}}}}
        """#

        let validator: OpenAPIValidator

        init() throws { validator = try OpenAPIValidator(json: Data(Self.document.utf8)) }

        func problems(_ body: String, path: String = "/things/t1", status: Int = 200, type: String = "application/json") -> [String] {
            validator.check(method: "GET", path: path, status: status, contentType: type, body: Data(body.utf8))
        }

        @Test func aConformingDocumentPasses() {
            #expect(problems(#"{"id": "t1", "size": 3, "kind": "a", "note": null, "tags": ["x"], "extra": {"n": 1.5}}"#) == [])
            #expect(problems(#"{"error": {"type": "not_found", "message": "no"}}"#, status: 404) == [])
            #expect(problems("{\"id\":\"a\",\"size\":1,\"kind\":\"b\"}\n{\"id\":\"b\",\"size\":2,\"kind\":\"a\"}\n",
                             path: "/things/t1/lines", type: "application/x-ndjson") == [])
            #expect(problems("", path: "/things/special", status: 204, type: "") == [])
            #expect(validator.template(for: "/things/special") == "/things/special")
            #expect(validator.template(for: "/things/x?y=1") == "/things/{id}")
        }

        @Test(arguments: [
            (#"{"id": "t1", "size": 3}"#, "missing required property 'kind'"),
            (#"{"id": "t1", "size": 3.5, "kind": "a"}"#, "$.size: expected integer"),
            (#"{"id": "t1", "size": "3", "kind": "a"}"#, "$.size: expected integer"),
            (#"{"id": 1, "size": 3, "kind": "a"}"#, "$.id: expected string"),
            (#"{"id": "t1", "size": 3, "kind": "c"}"#, "is not one of"),
            (#"{"id": "t1", "size": 3, "kind": "a", "surprise": 1}"#, "unexpected property 'surprise'"),
            (#"{"id": "t1", "size": 3, "kind": "a", "note": 5}"#, "$.note: expected string or null"),
            (#"{"id": "t1", "size": 3, "kind": "a", "tags": ["x", 2]}"#, "$.tags[1]: expected string"),
            (#"{"id": "t1", "size": 3, "kind": "a", "extra": {"n": "1"}}"#, "$.extra.n: expected number"),
            (#"{"id": "t1", "size": true, "kind": "a"}"#, "$.size: expected integer, got boolean"),
            (#"[1]"#, "expected object"),
            (#"not json"#, "not JSON"),
        ])
        func aBrokenBodyIsRejected(body: String, expected: String) {
            let found = problems(body)
            #expect(found.contains { $0.contains(expected) }, "\(found)")
        }

        @Test func aWrongStatusContentTypeOrPathIsRejected() {
            #expect(problems(#"{"error": {"type": "x", "message": "y"}}"#, status: 500).first?.contains("status 500 is not documented") == true)
            #expect(problems(#"{"error": {"type": "x"}}"#, status: 404).first?.contains("missing required property 'message'") == true)
            #expect(problems(#"{"id": "t1", "size": 3, "kind": "a"}"#, type: "text/plain").first?.contains("content type") == true)
            #expect(problems("{}", path: "/nothing").first?.contains("no path of the document matches") == true)
            #expect(problems("x", path: "/things/special", status: 204, type: "").first?.contains("without a body") == true)
            #expect(problems("{\"id\":\"a\",\"size\":1,\"kind\":\"b\"}\n{\"id\":\"b\"}\n", path: "/things/t1/lines", type: "application/x-ndjson")
                .contains { $0.contains("line 2: missing required property 'size'") })
            #expect(validator.check(method: "POST", path: "/things/t1", status: 200, contentType: nil, body: Data())
                .first?.contains("has no POST operation") == true)
        }

        @Test func keywordsOutsideTheSubsetAreReported() throws {
            let document = #"{"paths": {}, "components": {"schemas": {"A": {"type": "object", "properties": {"b": {"oneOf": []}}}}}}"#
            let strict = try OpenAPIValidator(json: Data(document.utf8))
            #expect(strict.unsupportedKeywords() == ["#/components/schemas/A.properties.b: 'oneOf'"])
            #expect(strict.validate(.object(["b": .null]), against: .object(["oneOf": .array([])])).first?.contains("unsupported") == true)
            #expect(validator.unsupportedKeywords() == [])
        }
    }
}
