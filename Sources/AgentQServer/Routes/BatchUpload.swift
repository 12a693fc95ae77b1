import AgentQ
import Foundation
import Hummingbird

/// `POST /batches`: a JSONL body streamed to a file in the home, then submitted as one batch
/// exactly as `agentq submit FILE` would, and the file removed whatever happens.
///
/// ```swift
/// let report = try await BatchUpload(queue: queue, limit: 512 << 20).submit(request, options: options)
/// ```
struct BatchUpload: Sendable {
    let queue: AgentQueue
    /// Largest body, in bytes (`--max-upload-mb`).
    let limit: Int

    /// Bytes gathered before each write to the file: few writes, little memory.
    static let flushBytes = 1 << 20
    /// Bad lines named in a 400's message; the rest are counted.
    static let linesShown = 20
    /// The batch's `source`, and the file name in line errors (`upload:700: missing "input"`).
    static let source = "upload"

    /// The submit options from `?agent=&priority=&max_attempts=&skip_invalid=&max_cost_usd=&max_tokens_total=`.
    /// - throws: ``APIError`` 400 naming the parameter at fault.
    static func options(from request: Request) throws -> SubmitOptions {
        let agent = request.queryString("agent") ?? "echo"
        if let problem = Name.problem(with: agent, as: .agent) {
            throw APIError.badRequest("query parameter agent=\(agent): \(problem)", type: "invalid_name")
        }
        var options = SubmitOptions(source: source, defaultAgent: agent)
        if let priority = try request.queryInt("priority", in: Int(Int32.min)...Int(Int32.max)) { options.defaultPriority = priority }
        if let attempts = try request.queryInt("max_attempts", in: 1...1000) { options.defaultMaxAttempts = attempts }
        options.skipInvalid = try request.queryBool("skip_invalid") ?? false
        if let text = request.queryString("max_cost_usd") {
            guard let cost = Double(text), cost.isFinite, cost >= 0 else {
                throw APIError.badRequest("query parameter max_cost_usd=\(text) must be a number of US dollars ≥ 0")
            }
            options.batchMaxCostUSD = cost
        }
        options.batchMaxTokensTotal = try request.queryInt("max_tokens_total", in: 1...Int.max)
        return options
    }

    /// Streams the body to a file, then submits it.
    /// - throws: ``APIError`` 413 over the limit, 404 for an unknown default agent, 400
    ///   `invalid_jsonl` naming the bad lines; nothing is enqueued on any error.
    func submit(_ request: Request, options: SubmitOptions) async throws -> SubmitReport {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw tooLarge("is \(length) bytes")
        }
        let queue = queue
        let agent = options.defaultAgent
        guard try await blocking({ try queue.agents.agent(named: agent) }) != nil else {
            throw AgentQError(.unknownAgent, "no agent named '\(agent)' (POST /agents adds one)")
        }
        let spool = try await blocking { try UploadSpool(home: queue.home) }
        do {
            let report = try await spoolAndSubmit(request.body, to: spool, options: options)
            spool.remove()
            return report
        } catch {
            spool.remove()
            throw error
        }
    }

    private func spoolAndSubmit(_ body: RequestBody, to spool: UploadSpool, options: SubmitOptions) async throws -> SubmitReport {
        var pending = ByteBuffer()
        var received = 0
        for try await chunk in body {
            // Counted as it arrives: a body sent without Content-Length (or with a false one)
            // stops here, not at the end of the disk.
            received += chunk.readableBytes
            if received > limit { throw tooLarge("is larger than that") }
            var chunk = chunk
            pending.writeBuffer(&chunk)
            if pending.readableBytes >= Self.flushBytes {
                try await flush(&pending, to: spool)
            }
        }
        try await flush(&pending, to: spool)
        let queue = queue
        do {
            return try await blocking { try queue.submit(fileAt: spool.finish(), options: options) }
        } catch let rejected as SubmitRejected {
            throw Self.invalid(rejected)
        }
    }

    private func flush(_ pending: inout ByteBuffer, to spool: UploadSpool) async throws {
        guard pending.readableBytes > 0 else { return }
        let bytes = pending
        try await blocking { try bytes.withUnsafeReadableBytes { try spool.write($0) } }
        pending.clear()
    }

    private func tooLarge(_ what: String) -> APIError {
        APIError(
            .contentTooLarge, "body_too_large",
            "the upload \(what); this server takes at most \(limit) bytes (agentq serve --max-upload-mb)")
    }

    /// A 400 naming the first bad lines (`upload:700: reason`) and how many there were.
    static func invalid(_ rejected: SubmitRejected) -> APIError {
        if let problem = rejected.fileProblem, rejected.invalidLines.isEmpty {
            return APIError.badRequest(problem, type: "invalid_jsonl")
        }
        let lines = rejected.invalidLines
        var message = lines.prefix(linesShown).map(\.description).joined(separator: "; ")
        if lines.count > linesShown { message += "; … and \(lines.count - linesShown) more" }
        message += " — \(lines.count) invalid line(s); nothing was enqueued"
        if let problem = rejected.fileProblem { message = problem + ": " + message }
        else { message += " (skip_invalid=true enqueues the valid ones)" }
        return APIError.badRequest(message, type: "invalid_jsonl")
    }
}
