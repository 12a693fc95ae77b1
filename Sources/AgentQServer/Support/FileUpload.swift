import AgentQ
import Foundation
import Hummingbird

/// `POST /v1/files`: a multipart upload streamed to a temporary file in the home, then added
/// to the file store; at most `limit` bytes (413 beyond), nothing left behind on failure.
///
/// ```swift
/// let file = try await FileUpload.receive(request, into: files, limit: configuration.maxUploadBytes)
/// ```
enum FileUpload {
    /// - throws: ``APIError`` 400 (not multipart, no `file` part, purpose not `batch`), 413 (too large).
    static func receive(_ request: Request, into files: OpenAIFileStore, limit: Int) async throws -> OpenAIFile {
        guard let boundary = request.headers[.contentType].flatMap(MultipartFormReader.boundary(contentType:)) else {
            throw APIError.badRequest("POST /v1/files takes multipart/form-data with a boundary (fields: purpose, file)")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge(limit)
        }
        let temporary = try await blocking { try files.makeTemporaryURL() }
        let sink = try await blocking { try StagedFile(url: temporary) }
        do {
            var reader = MultipartFormReader(boundary: boundary)
            var part: String?, filename: String?, purpose: [UInt8] = [], fileParts = 0, received = 0
            for try await chunk in request.body {
                received += chunk.readableBytes
                if received > limit { throw tooLarge(limit) }
                var bytes: [UInt8] = []
                try reader.feed(chunk) { event in
                    switch event {
                    case .partStart(let name, let name2):
                        part = name
                        if name == "file" {
                            fileParts += 1
                            filename = name2
                        }
                    case .data(let data):
                        if part == "file" { bytes.append(contentsOf: data) }
                        if part == "purpose" {
                            purpose.append(contentsOf: data)
                            if purpose.count > 64 { throw APIError.badRequest("\"purpose\" is longer than 64 bytes") }
                        }
                    case .partEnd:
                        part = nil
                    }
                }
                if !bytes.isEmpty {
                    let data = bytes
                    try await blocking { try sink.append(data) }
                }
            }
            try reader.finish()
            try await blocking { try sink.close() }
            guard fileParts == 1 else {
                throw APIError.badRequest(fileParts == 0 ? "the upload has no \"file\" part" : "the upload has more than one \"file\" part")
            }
            let purposeText = String(decoding: purpose, as: UTF8.self)
            guard purposeText == "batch" else {
                throw APIError.badRequest(
                    purpose.isEmpty ? "\"purpose\" is required (batch)" : "purpose '\(purposeText)' is not supported: agentq keeps batch files only")
            }
            let name = String((filename.flatMap { $0.isEmpty ? nil : $0 } ?? "upload.jsonl").prefix(255))
            return try await blocking { try files.add(temporaryFile: temporary, filename: name, purpose: "batch") }
        } catch {
            sink.discard()
            throw error
        }
    }

    private static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "body_too_large", "the upload is larger than \(limit) bytes (agentq serve --max-upload-mb)")
    }
}
