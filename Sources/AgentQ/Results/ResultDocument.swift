import Foundation
import JobQueue

/// The JSON object that describes a job: the content of its result file, and every
/// `--json` output about jobs, so the field names are the same everywhere.
///
/// ```swift
/// let text = ResultDocument.json(for: job)   // {"job_id":"job_…","custom_id":null,…}
/// ```
public enum ResultDocument {
    /// The output of a job that produced none (failed before its first model call, or not run
    /// yet): an empty turn's output without its braces, made once.
    static let emptyOutputFields = Array(TurnResult(response: nil).jsonText.utf8.dropFirst().dropLast())

    public static func json(for job: Job) -> String {
        String(decoding: bytes(for: job), as: UTF8.self)
    }

    /// The document as UTF-8 bytes, as a result file holds it (without its final newline).
    ///
    /// Built as bytes, not as a String: appending to a String cost about 340 instructions per
    /// piece, a tenth of a finished job's work outside SQLite.
    static func bytes(for job: Job) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + (job.output?.utf8.count ?? 0))
        append("{\"job_id\":", to: &out)
        JSONText.appendQuoted(job.id, to: &out)
        appendField(",\"custom_id\":", job.customID, to: &out)
        appendField(",\"batch_id\":", job.batchID, to: &out)
        appendField(",\"session\":", job.lane, to: &out)
        appendField(",\"agent\":", job.handler, to: &out)
        appendField(",\"status\":", job.status.rawValue, to: &out)
        out.append(UInt8(ascii: ","))
        if var output = job.output, output.utf8.count > 2, output.utf8.first == UInt8(ascii: "{"),
            output.utf8.last == UInt8(ascii: "}")
        {
            output.withUTF8 { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0.dropFirst().dropLast())) }
        } else {
            out.append(contentsOf: emptyOutputFields)
        }
        append(",\"attempts\":", to: &out)
        append(String(job.attempts), to: &out)
        append(",\"max_attempts\":", to: &out)
        append(String(job.maxAttempts), to: &out)
        append(",\"error\":", to: &out)
        if let error = job.error, job.status != .succeeded {
            append("{\"type\":", to: &out)
            JSONText.appendQuoted(error.type, to: &out)
            append(",\"message\":", to: &out)
            JSONText.appendQuoted(error.message, to: &out)
            out.append(UInt8(ascii: "}"))
        } else {
            append("null", to: &out)
        }
        append(",\"priority\":", to: &out)
        append(String(job.priority), to: &out)
        append(",\"metadata\":", to: &out)
        append(job.metadata ?? "null", to: &out)
        appendField(",\"created_at\":", job.createdAt.iso8601, to: &out)
        appendField(",\"started_at\":", job.startedAt?.iso8601, to: &out)
        appendField(",\"finished_at\":", job.finishedAt?.iso8601, to: &out)
        // Last, so a writer can read it from the file's tail: see ResultWriter.
        append(",\"version\":", to: &out)
        append(String(job.version), to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func append(_ literal: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    /// `key` is the literal up to the value: `,"name":`.
    private static func appendField(_ key: StaticString, _ value: String?, to out: inout [UInt8]) {
        append(key, to: &out)
        if let value { JSONText.appendQuoted(value, to: &out) } else { append("null", to: &out) }
    }
}
