import Foundation
import JobQueue

/// Writes `<home>/results/<job_id>.json` for every finished job: the ``JobQueue/FinishedJobSink`` of agentq.
///
/// Each file is written to a temporary name in the same directory and renamed into place,
/// so a reader sees the old file or the whole new one, never a part.
///
/// ```swift
/// let writer = ResultWriter(directory: home.resultsDirectory)
/// try writer.deliver(finishedJobs)
/// ```
public struct ResultWriter: FinishedJobSink {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    public func deliver(_ jobs: [Job]) throws {
        for job in jobs { try write(job) }
    }

    /// - throws: ``AgentQError`` `.io` naming the file.
    public func write(_ job: Job) throws {
        let finalPath = directory.path + "/" + job.id + ".json"
        let temporaryPath = directory.path + "/." + job.id + ".json.tmp"
        var bytes = Array(ResultDocument.json(for: job).utf8)
        bytes.append(0x0A)
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ioError("cannot create \(temporaryPath)") }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                let error = ioError("cannot write \(temporaryPath)")
                close(descriptor)
                unlink(temporaryPath)
                throw error
            }
            written += result
        }
        close(descriptor)
        guard rename(temporaryPath, finalPath) == 0 else {
            let error = ioError("cannot move the result into \(finalPath)")
            unlink(temporaryPath)
            throw error
        }
    }

    /// Removes a job's result file (before the job runs again).
    public func remove(jobID: String) {
        unlink(directory.path + "/" + jobID + ".json")
    }

    private func ioError(_ what: String) -> AgentQError {
        AgentQError(.io, "\(what): \(String(cString: strerror(errno)))")
    }
}
