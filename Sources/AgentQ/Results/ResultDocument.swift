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
    static let emptyOutputFields = String(Substring(TurnResult(response: nil).jsonText.utf8.dropFirst().dropLast()))

    public static func json(for job: Job) -> String {
        var out = "{\"job_id\":"
        out.reserveCapacity(512 + (job.output?.utf8.count ?? 0))
        JSONText.appendQuoted(job.id, to: &out)
        appendField("custom_id", job.customID, to: &out)
        appendField("batch_id", job.batchID, to: &out)
        appendField("session", job.lane, to: &out)
        appendField("agent", job.handler, to: &out)
        appendField("status", job.status.rawValue, to: &out)
        out.append(",")
        if let output = job.output, output.utf8.count > 2, output.utf8.first == UInt8(ascii: "{"),
            output.utf8.last == UInt8(ascii: "}")
        {
            // On the UTF-8 view: String's own dropLast() counts the characters of the whole output.
            out.append(contentsOf: Substring(output.utf8.dropFirst().dropLast()))
        } else {
            out.append(emptyOutputFields)
        }
        out.append(",\"attempts\":")
        out.append(String(job.attempts))
        out.append(",\"max_attempts\":")
        out.append(String(job.maxAttempts))
        out.append(",\"error\":")
        if let error = job.error, job.status != .succeeded {
            out.append("{\"type\":")
            JSONText.appendQuoted(error.type, to: &out)
            out.append(",\"message\":")
            JSONText.appendQuoted(error.message, to: &out)
            out.append("}")
        } else {
            out.append("null")
        }
        out.append(",\"priority\":")
        out.append(String(job.priority))
        out.append(",\"metadata\":")
        out.append(job.metadata ?? "null")
        appendField("created_at", job.createdAt.iso8601, to: &out)
        appendField("started_at", job.startedAt?.iso8601, to: &out)
        appendField("finished_at", job.finishedAt?.iso8601, to: &out)
        // Last, so a writer can read it from the file's tail: see ResultWriter.
        out.append(",\"version\":")
        out.append(String(job.version))
        out.append("}")
        return out
    }

    private static func appendField(_ name: String, _ value: String?, to out: inout String) {
        out.append(",\"")
        out.append(name)
        out.append("\":")
        if let value { JSONText.appendQuoted(value, to: &out) } else { out.append("null") }
    }
}
