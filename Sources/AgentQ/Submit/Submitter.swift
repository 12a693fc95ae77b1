import Foundation
import JobQueue

/// Turns a bulk prompt file into one batch of jobs, in one transaction.
///
/// Every line is checked first (JSON, UTF-8, input, fields, that its agent exists). Unless
/// ``SubmitOptions/skipInvalid`` is set, one bad line rejects the file and nothing is enqueued.
///
/// ```swift
/// let report = try Submitter(store: store, agents: agents)
///     .submit(data, options: SubmitOptions(source: "prompts.jsonl"))
/// ```
public struct Submitter: Sendable {
    public let store: any JobStore
    public let agents: any AgentStore
    public let budgets: (any BatchBudgetStore)?

    public init(store: any JobStore, agents: any AgentStore, budgets: (any BatchBudgetStore)? = nil) {
        self.store = store
        self.agents = agents
        self.budgets = budgets
    }

    /// - throws: ``SubmitRejected`` listing every bad line, or a ``JobQueue/StoreError``.
    public func submit(_ data: Data, options: SubmitOptions) throws -> SubmitReport {
        let prepared = try prepare(data, options: options)
        let batch = NewBatch(source: options.source)
        if options.batchMaxCostUSD != nil || options.batchMaxTokensTotal != nil {
            // Before the jobs exist, so no worker can start one without seeing the cap.
            try budgets?.setBudget(BatchBudget(
                batchID: batch.id, maxCostUSD: options.batchMaxCostUSD, maxTokensTotal: options.batchMaxTokensTotal))
        }
        let summary = try store.enqueue(batch: batch) { inserter in
            for job in prepared.jobs { try inserter.insert(job) }
        }
        return SubmitReport(batchID: summary.batchID ?? "", jobs: summary.count, skipped: prepared.skipped)
    }

    /// Checks every line of a bulk file and turns the good ones into jobs, without enqueuing
    /// anything (a schedule stores a file checked this way, and makes its jobs at each fire).
    ///
    /// ```swift
    /// let (jobs, skipped) = try submitter.prepare(data, options: SubmitOptions(source: "prompts.jsonl"))
    /// ```
    /// - throws: ``SubmitRejected`` listing every bad line, or a ``JobQueue/StoreError``.
    public func prepare(_ data: Data, options: SubmitOptions) throws -> (jobs: [NewJob], skipped: [InvalidLine]) {
        let entries = BulkFileParser.parse(data, source: options.source)
        guard !entries.isEmpty else {
            throw SubmitRejected(invalidLines: [], fileProblem: "\(options.source): no jobs (the file has no lines)")
        }
        var lines: [BulkLine] = []
        var invalid: [InvalidLine] = []
        lines.reserveCapacity(entries.count)
        var knownAgents: [String: Bool] = [:]
        for entry in entries {
            switch entry {
            case .invalid(let problem):
                invalid.append(problem)
            case .line(let line):
                let agent = line.agent ?? options.defaultAgent
                if knownAgents[agent] == nil { knownAgents[agent] = try agents.agent(named: agent) != nil }
                if knownAgents[agent] != true {
                    invalid.append(InvalidLine(
                        source: options.source, line: line.lineNumber,
                        reason: "unknown agent '\(agent)' (add it with: agentq agents add FILE.json)"))
                } else if options.refusesRunAt && line.runAt != nil {
                    invalid.append(InvalidLine(
                        source: options.source, line: line.lineNumber,
                        reason: "\"run_at\" cannot be used here (a scheduled line runs when its schedule fires)"))
                } else {
                    lines.append(line)
                }
            }
        }
        if !invalid.isEmpty && !options.skipInvalid {
            throw SubmitRejected(invalidLines: invalid, fileProblem: nil)
        }
        guard !lines.isEmpty else {
            throw SubmitRejected(invalidLines: invalid, fileProblem: "\(options.source): no valid lines; nothing was enqueued")
        }
        let jobs = lines.map { line in
            NewJob(
                customID: line.customID, lane: line.session ?? options.defaultSession, handler: line.agent ?? options.defaultAgent,
                input: line.input, metadata: line.metadata, priority: line.priority ?? options.defaultPriority,
                runAt: line.runAt, maxAttempts: line.maxAttempts ?? options.defaultMaxAttempts,
                options: SpendLimits(maxCostUSD: line.maxCostUSD, maxTokensTotal: line.maxTokensTotal).jobOptions)
        }
        return (jobs, invalid)
    }
}
