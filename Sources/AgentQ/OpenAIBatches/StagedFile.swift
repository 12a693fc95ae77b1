import Foundation

/// A file being written under a temporary name, through a buffer: an upload or a batch's
/// output file until ``OpenAIFileStore/add(temporaryFile:id:filename:purpose:)`` moves it into
/// place. ``discard()`` removes it when it was not moved.
///
/// ```swift
/// let staged = try StagedFile(url: try files.makeTemporaryURL())
/// defer { staged.discard() }
/// try staged.append(line: #"{"custom_id":"a"}"#)
/// try staged.close()
/// let file = try files.add(temporaryFile: staged.url, filename: "out.jsonl", purpose: "batch_output")
/// ```
public final class StagedFile: @unchecked Sendable {
    public let url: URL
    private let handle: FileHandle
    private var buffer = Data()
    private var closed = false

    /// - throws: ``AgentQError`` `.io` when the file cannot be created.
    public init(url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = FileHandle(forWritingAtPath: url.path) else {
            throw AgentQError(.io, "cannot create \(url.path)")
        }
        self.url = url
        self.handle = handle
    }

    /// - throws: ``AgentQError`` `.io` when the disk refuses the bytes.
    public func append(_ bytes: some Sequence<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Appends `line` and a newline.
    /// - throws: ``AgentQError`` `.io` when the disk refuses the bytes.
    public func append(line: String) throws {
        try append(line.utf8)
        try append(CollectionOfOne(0x0A))
    }

    /// Writes what is buffered, to the disk, and closes the file.
    /// - throws: ``AgentQError`` `.io`.
    public func close() throws {
        try flush()
        do {
            try handle.synchronize()
            try handle.close()
        } catch {
            throw AgentQError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
        closed = true
    }

    /// Closes and removes the file if it is still at its temporary name.
    public func discard() {
        if !closed { try? handle.close() }
        closed = true
        try? FileManager.default.removeItem(at: url)
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        do { try handle.write(contentsOf: buffer) } catch {
            throw AgentQError(.io, "cannot write \(url.path): \(error.localizedDescription)")
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
