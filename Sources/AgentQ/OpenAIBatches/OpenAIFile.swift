import JobQueue

/// A file of the OpenAI Files API kept by agentq: an uploaded batch input, or a batch's
/// output or error file.
///
/// ```swift
/// let file = try files.file(id: "file-01jd…")
/// print(file?.jsonText ?? "")   // {"id":"file-01jd…","object":"file","bytes":120,…}
/// ```
public struct OpenAIFile: Sendable, Hashable {
    public var id: String
    public var filename: String
    /// `batch` for an upload, `batch_output` for what a batch wrote.
    public var purpose: String
    public var bytes: Int
    public var createdAt: Timestamp

    public init(id: String, filename: String, purpose: String, bytes: Int, createdAt: Timestamp) {
        self.id = id
        self.filename = filename
        self.purpose = purpose
        self.bytes = bytes
        self.createdAt = createdAt
    }

    /// The OpenAI file object: `{"id", "object": "file", "bytes", "created_at", "filename", "purpose", …}`,
    /// times in Unix seconds.
    public var jsonText: String {
        var json = JSONText()
        json.object {
            $0.field("id", id)
            $0.field("object", "file")
            $0.field("bytes", bytes)
            $0.field("created_at", Int(createdAt.milliseconds / 1000))
            $0.field("expires_at", raw: nil)
            $0.field("filename", filename)
            $0.field("purpose", purpose)
            $0.field("status", "processed")
            $0.field("status_details", raw: nil)
        }
        return json.text
    }
}
