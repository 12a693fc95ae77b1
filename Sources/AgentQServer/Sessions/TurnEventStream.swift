import AgentQ
import Foundation
import Hummingbird
import JobQueue

/// Writes a turn's updates as server-sent events (`event: NAME\ndata: JSON\n\n`), pings
/// included, until the turn's end: the body of `POST /sessions/{id}/message/stream`.
///
/// ```swift
/// try await TurnEventStream(jobID: jobID, pingSeconds: 10).write(wait.updates, to: &writer)
/// ```
struct TurnEventStream {
    let jobID: String
    let pingSeconds: Double

    /// - returns: whether the turn's end (`done` or `error`) was written; false when the updates
    ///   ended first (the request was cancelled or the server is stopping).
    /// - throws: the writer's error when the client went away.
    func write(_ updates: AsyncStream<TurnUpdate>, to writer: inout any ResponseBodyWriter) async throws -> Bool {
        // A failed attempt's streamed text is void only if the job runs again; known at its next event.
        var failedAttempt: String?
        var lastWrite = ContinuousClock.now
        for await update in updates {
            var frames: [(name: String, data: String)] = []
            switch update {
            case .event(let event):
                if let reason = failedAttempt {
                    frames.append(TurnEventDocument.retry(reason: reason))
                    failedAttempt = nil
                }
                if let frame = TurnEventDocument.event(event, jobID: jobID) { frames.append(frame) }
            case .attemptFailed(let type, let message):
                failedAttempt = "the attempt failed (\(type): \(message)) and is retried"
            case .paused(let job):
                frames.append(TurnEventDocument.paused(jobID: job.id, sessionID: job.lane ?? ""))
            case .finished(let job):
                try await send([Self.end(of: job)], to: &writer)
                return true
            case .vanished:
                let frame = TurnEventDocument.error(type: "job_missing", message: "the turn's job is no longer in the queue", jobID: jobID)
                try await send([frame], to: &writer)
                return true
            case .tick:
                if lastWrite.duration(to: .now) >= .seconds(pingSeconds * 0.9) {
                    try await writer.write(ByteBuffer(string: ": ping\n\n"))
                    lastWrite = .now
                }
            }
            if !frames.isEmpty {
                try await send(frames, to: &writer)
                lastWrite = .now
            }
        }
        return false
    }

    /// The last event of a stream the server stops before the turn ended.
    func writeStopping(to writer: inout any ResponseBodyWriter) async throws {
        try await send([TurnEventDocument.error(
            type: "server_stopping", message: "the server is stopping; the turn goes on as job \(jobID)", jobID: jobID)], to: &writer)
    }

    /// `done` for a succeeded job, `error` for a failed or cancelled one.
    static func end(of job: Job) -> (name: String, data: String) {
        if job.status == .succeeded {
            return TurnEventDocument.done(job.output.flatMap(TurnResult.init(jsonText:)) ?? TurnResult(response: nil), jobID: job.id)
        }
        let error = job.error ?? JobError(type: job.status.rawValue, message: "the turn was \(job.status.rawValue)")
        return TurnEventDocument.error(type: error.type, message: error.message, jobID: job.id)
    }

    func send(_ frames: [(name: String, data: String)], to writer: inout any ResponseBodyWriter) async throws {
        var text = ""
        for frame in frames { text += "event: \(frame.name)\ndata: \(frame.data)\n\n" }
        try await writer.write(ByteBuffer(string: text))
    }
}
