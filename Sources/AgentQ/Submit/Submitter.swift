import Foundation
import JobQueue

/// Turns a bulk prompt file into one batch of jobs, reading it a chunk at a time.
///
/// Every line is checked (JSON, UTF-8, input, fields, that its agent exists) as it is read, and
/// written as it is checked, in short transactions the batch keeps invisible until the last line
/// is in: memory stays that of one chunk whatever the file's size. Unless
/// ``SubmitOptions/skipInvalid`` is set, one bad line anywhere (the last one too) rejects the
/// file and nothing is enqueued.
///
/// ```swift
/// let report = try Submitter(store: store, agents: agents)
///     .submit(try BulkFileReader(contentsOf: url), options: SubmitOptions(source: url.path))
/// ```
public struct Submitter: Sendable {
    public let store: any JobStore
    public let agents: any AgentStore
    public let budgets: (any BatchBudgetStore)?
    /// Where a line naming an existing session finds that session's host (``NewJob/host``);
    /// nil: lines are not pinned to a host.
    public let sessions: (any SessionStore)?

    public init(store: any JobStore, agents: any AgentStore, budgets: (any BatchBudgetStore)? = nil,
                sessions: (any SessionStore)? = nil) {
        self.store = store
        self.agents = agents
        self.budgets = budgets
        self.sessions = sessions
    }

    /// Submits bytes already in memory.
    /// - throws: ``SubmitRejected`` listing every bad line, or a ``JobQueue/StoreError``.
    public func submit(_ data: Data, options: SubmitOptions) throws -> SubmitReport {
        try submit(BulkFileReader(data: data, source: options.source), options: options)
    }

    /// Submits what `reader` reads, line by line as it reads it.
    /// - throws: ``SubmitRejected`` listing every bad line (or saying why the input cannot be
    ///   read), or a ``JobQueue/StoreError``; either way nothing was enqueued.
    public func submit(_ reader: BulkFileReader, options: SubmitOptions) throws -> SubmitReport {
        var check = LineCheck(options: options, agents: agents, sessions: sessions)
        let batch = NewBatch(source: options.source)
        let summary = try store.enqueue(batch: batch) { inserter in
            while let entries = try reader.next() {
                for entry in entries {
                    guard let job = try check.job(for: entry) else { continue }
                    // Once the file is rejected, the rest is only checked, to list every bad line.
                    guard check.invalid.isEmpty || options.skipInvalid else { continue }
                    try inserter.insert(job)
                }
            }
            // Throwing here makes the store remove what it has staged.
            try check.finish()
            if options.batchMaxCostUSD != nil || options.batchMaxTokensTotal != nil {
                // Before the staged jobs go live, so no worker can start one without seeing the cap.
                try budgets?.setBudget(BatchBudget(
                    batchID: batch.id, maxCostUSD: options.batchMaxCostUSD, maxTokensTotal: options.batchMaxTokensTotal))
            }
        }
        return SubmitReport(batchID: summary.batchID ?? "", jobs: summary.count, skipped: check.invalid)
    }

    /// Checks every line of a bulk file and turns the good ones into jobs, without enqueuing
    /// anything (a schedule stores a file checked this way, and makes its jobs at each fire).
    ///
    /// ```swift
    /// let (jobs, skipped) = try submitter.prepare(data, options: SubmitOptions(source: "prompts.jsonl"))
    /// ```
    /// - throws: ``SubmitRejected`` listing every bad line, or a ``JobQueue/StoreError``.
    public func prepare(_ data: Data, options: SubmitOptions) throws -> (jobs: [NewJob], skipped: [InvalidLine]) {
        var check = LineCheck(options: options, agents: agents)
        let reader = BulkFileReader(data: data, source: options.source)
        var jobs: [NewJob] = []
        while let entries = try reader.next() {
            for entry in entries {
                if let job = try check.job(for: entry) { jobs.append(job) }
            }
        }
        try check.finish()
        return (jobs, check.invalid)
    }
}

/// The checks every line of a bulk file gets beyond its own syntax (that its agent exists,
/// what the options forbid), and the job a good line becomes; keeps the bad lines seen.
private struct LineCheck {
    let options: SubmitOptions
    let agents: any AgentStore
    let sessions: (any SessionStore)?
    private(set) var invalid: [InvalidLine] = []
    private var sawLine = false
    private var accepted = 0
    private var knownAgents: [String: Bool] = [:]
    /// The host of each session named so far (nil: no such session yet, or not pinned).
    private var sessionHosts: [String: String?] = [:]
    /// The options text of the last caps seen: a file's lines mostly share their caps, and
    /// encoding them (JSONSerialization) cost more than the rest of the line's check.
    private var lastLimits: (maxCostUSD: Double?, maxTokensTotal: Int?, options: String?) = (nil, nil, nil)

    init(options: SubmitOptions, agents: any AgentStore, sessions: (any SessionStore)? = nil) {
        self.options = options
        self.agents = agents
        self.sessions = sessions
    }

    /// The host a turn of `session` must run on: that of the session when it exists.
    private mutating func host(ofSession session: String?) throws -> String? {
        guard let session, let sessions else { return nil }
        if let known = sessionHosts[session] { return known }
        let host = try sessions.session(id: session)?.host
        sessionHosts[session] = host
        return host
    }

    /// The job for a good line; nil (and the line recorded) for a bad one.
    /// - throws: a ``JobQueue/StoreError`` looking up the agent.
    mutating func job(for entry: BulkFileParser.Entry) throws -> NewJob? {
        sawLine = true
        let line: BulkLine
        switch entry {
        case .invalid(let problem):
            invalid.append(problem)
            return nil
        case .line(let parsed):
            line = parsed
        }
        let agent = line.agent ?? options.defaultAgent
        if knownAgents[agent] == nil { knownAgents[agent] = try agents.agent(named: agent) != nil }
        guard knownAgents[agent] == true else {
            invalid.append(InvalidLine(
                source: options.source, line: line.lineNumber,
                reason: "unknown agent '\(agent)' (add it with: agentq agents add FILE.json)"))
            return nil
        }
        if options.refusesRunAt && line.runAt != nil {
            invalid.append(InvalidLine(
                source: options.source, line: line.lineNumber,
                reason: "\"run_at\" cannot be used here (a scheduled line runs when its schedule fires)"))
            return nil
        }
        accepted += 1
        // Bit patterns, not ==: -0.0 == 0.0, yet the two encode differently.
        if line.maxCostUSD?.bitPattern != lastLimits.maxCostUSD?.bitPattern
            || line.maxTokensTotal != lastLimits.maxTokensTotal
        {
            lastLimits = (line.maxCostUSD, line.maxTokensTotal,
                SpendLimits(maxCostUSD: line.maxCostUSD, maxTokensTotal: line.maxTokensTotal).jobOptions)
        }
        let lane = line.session ?? options.defaultSession
        return NewJob(
            customID: line.customID, lane: lane, handler: agent,
            input: line.input, metadata: line.metadata, priority: line.priority ?? options.defaultPriority,
            runAt: line.runAt, maxAttempts: line.maxAttempts ?? options.defaultMaxAttempts,
            options: lastLimits.options, host: try host(ofSession: lane))
    }

    /// - throws: ``SubmitRejected`` when the file had no lines, a bad line (unless skipped), or no good line.
    func finish() throws {
        guard sawLine else {
            throw SubmitRejected(invalidLines: [], fileProblem: "\(options.source): no jobs (the file has no lines)")
        }
        if !invalid.isEmpty && !options.skipInvalid {
            throw SubmitRejected(invalidLines: invalid, fileProblem: nil)
        }
        guard accepted > 0 else {
            throw SubmitRejected(invalidLines: invalid, fileProblem: "\(options.source): no valid lines; nothing was enqueued")
        }
    }
}
