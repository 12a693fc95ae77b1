import AgentQ
import Foundation
import Hummingbird
import JobQueue

/// An error answered as `{"error": {"type": "...", "message": "..."}}` with its HTTP status.
///
/// Routes throw it (or any agentq error, which ``APIError/init(_:)`` translates); the
/// ``ErrorMiddleware`` writes it. Bad input is never a 500.
///
/// ```swift
/// throw APIError(.notFound, "not_found", "no job with ID 'job_x'")
/// ```
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var type: String
    public var message: String

    public init(_ status: HTTPResponse.Status, _ type: String, _ message: String) {
        self.status = status
        self.type = type
        self.message = message
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// `{"error": {"type", "message"}}`
    public var jsonText: String {
        var json = JSONText()
        json.object { $0.field("error") { $0.field("type", type); $0.field("message", message) } }
        return json.text
    }

    static func badRequest(_ message: String, type: String = "invalid_request") -> APIError {
        APIError(.badRequest, type, message)
    }

    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    static func conflict(_ message: String, type: String = "conflict") -> APIError { APIError(.conflict, type, message) }

    /// Translates whatever a route or the library threw into the status a client should see.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as AgentQError:
            self = Self.translate(error)
        case let error as StoreError:
            self = Self.translate(error)
        case let error as SubmitRejected:
            self.init(.badRequest, "invalid_jsonl", error.description)
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge: self.init(.contentTooLarge, "body_too_large", "the request body is larger than this endpoint accepts")
            case .notFound: self.init(.notFound, "not_found", "no such endpoint")
            case .methodNotAllowed: self.init(.methodNotAllowed, "method_not_allowed", "this endpoint does not take that method")
            default: self.init(error.status, "http_error", error.body ?? error.status.reasonPhrase)
            }
        default:
            if let storeError = StoreError(translating: error) {
                self = Self.translate(storeError)
            } else {
                self.init(.internalServerError, "internal_error", "\(error)")
            }
        }
    }

    private static func translate(_ error: AgentQError) -> APIError {
        switch error.code {
        case .notFound: return APIError(.notFound, "not_found", error.message)
        case .unknownAgent: return APIError(.notFound, "unknown_agent", error.message)
        case .alreadyExists: return APIError(.conflict, "already_exists", error.message)
        case .sessionClosed: return APIError(.conflict, "session_closed", error.message)
        case .invalidName, .invalidInput, .invalidAgent, .invalidSchedule:
            return APIError(.badRequest, error.code.rawValue, error.message)
        case .invalidHome, .io: return APIError(.internalServerError, error.code.rawValue, error.message)
        }
    }

    private static func translate(_ error: StoreError) -> APIError {
        // A busy or unavailable database is worth retrying: 503, as a load balancer expects.
        error.isTransient
            ? APIError(.serviceUnavailable, "database_unavailable", error.message)
            : APIError(.internalServerError, "database_error", error.message)
    }
}
