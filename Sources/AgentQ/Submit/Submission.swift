import Foundation
import JobQueue

/// How a bulk file becomes jobs: defaults for fields a line leaves out, and what to do with bad lines.
public struct SubmitOptions: Sendable {
    /// The file's name in messages and in the batch (`-` for standard input).
    public var source: String
    public var defaultAgent: String
    public var defaultPriority: Int
    public var defaultMaxAttempts: Int
    /// Enqueue the good lines and report the bad ones, instead of rejecting the file.
    public var skipInvalid: Bool
    /// The whole batch's spend caps: reaching one stops the batch from starting new jobs.
    public var batchMaxCostUSD: Double?
    public var batchMaxTokensTotal: Int?
    /// The session of lines that name none (a schedule's `--session`); nil: no session.
    public var defaultSession: String? = nil
    /// Refuse lines with `run_at` (a schedule's lines run when it fires).
    public var refusesRunAt = false

    public init(
        source: String, defaultAgent: String = "echo", defaultPriority: Int = 0, defaultMaxAttempts: Int = 3,
        skipInvalid: Bool = false, batchMaxCostUSD: Double? = nil, batchMaxTokensTotal: Int? = nil
    ) {
        self.batchMaxCostUSD = batchMaxCostUSD
        self.batchMaxTokensTotal = batchMaxTokensTotal
        self.source = source
        self.defaultAgent = defaultAgent
        self.defaultPriority = defaultPriority
        self.defaultMaxAttempts = defaultMaxAttempts
        self.skipInvalid = skipInvalid
    }
}

/// A line of a bulk file that cannot become a job.
public struct InvalidLine: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var line: Int
    public var reason: String

    /// `FILE:LINE: reason`
    public var description: String { "\(source):\(line): \(reason)" }
}

/// What a submission did.
public struct SubmitReport: Sendable {
    public var batchID: String
    public var jobs: Int
    /// Lines left out under ``SubmitOptions/skipInvalid``.
    public var skipped: [InvalidLine]

    /// `{"batch_id": …, "jobs": N, "skipped": K}`, as `agentq submit --json` prints it.
    public var json: String {
        var text = JSONText()
        text.object {
            $0.field("batch_id", batchID)
            $0.field("jobs", jobs)
            $0.field("skipped", skipped.count)
        }
        return text.text
    }
}

/// The whole file was rejected; nothing was enqueued.
public struct SubmitRejected: Error, Sendable, CustomStringConvertible {
    public var invalidLines: [InvalidLine]
    /// Set when the file as a whole is at fault (empty, unreadable).
    public var fileProblem: String?

    public var description: String {
        fileProblem ?? invalidLines.map(\.description).joined(separator: "\n")
    }
}
