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

    public init(store: any JobStore, agents: any AgentStore, budgets: (any BatchBudgetStore)? = nil) {
        self.store = store
        self.agents = agents
        self.budgets = budgets
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
        var invalid: [InvalidLine] = []
        var knownAgents: [String: Bool] = [:]
        var sawLine = false
        var accepted = 0
        let batch = NewBatch(source: options.source)
        let summary = try store.enqueue(batch: batch) { inserter in
            while let entries = try reader.next() {
                for entry in entries {
                    sawLine = true
                    guard case .line(let line) = entry else {
                        if case .invalid(let problem) = entry { invalid.append(problem) }
                        continue
                    }
                    let agent = line.agent ?? options.defaultAgent
                    if knownAgents[agent] == nil { knownAgents[agent] = try agents.agent(named: agent) != nil }
                    guard knownAgents[agent] == true else {
                        invalid.append(InvalidLine(
                            source: options.source, line: line.lineNumber,
                            reason: "unknown agent '\(agent)' (add it with: agentq agents add FILE.json)"))
                        continue
                    }
                    // Once the file is rejected, the rest is only checked, to list every bad line.
                    guard invalid.isEmpty || options.skipInvalid else { continue }
                    try inserter.insert(NewJob(
                        customID: line.customID, lane: line.session, handler: agent,
                        input: line.input, metadata: line.metadata, priority: line.priority ?? options.defaultPriority,
                        runAt: line.runAt, maxAttempts: line.maxAttempts ?? options.defaultMaxAttempts,
                        options: SpendLimits(maxCostUSD: line.maxCostUSD, maxTokensTotal: line.maxTokensTotal).jobOptions))
                    accepted += 1
                }
            }
            // Throwing here makes the store remove what it has staged.
            guard sawLine else {
                throw SubmitRejected(invalidLines: [], fileProblem: "\(options.source): no jobs (the file has no lines)")
            }
            if !invalid.isEmpty && !options.skipInvalid {
                throw SubmitRejected(invalidLines: invalid, fileProblem: nil)
            }
            guard accepted > 0 else {
                throw SubmitRejected(invalidLines: invalid, fileProblem: "\(options.source): no valid lines; nothing was enqueued")
            }
            if options.batchMaxCostUSD != nil || options.batchMaxTokensTotal != nil {
                // Before the staged jobs go live, so no worker can start one without seeing the cap.
                try budgets?.setBudget(BatchBudget(
                    batchID: batch.id, maxCostUSD: options.batchMaxCostUSD, maxTokensTotal: options.batchMaxTokensTotal))
            }
        }
        return SubmitReport(batchID: summary.batchID ?? "", jobs: summary.count, skipped: invalid)
    }
}
