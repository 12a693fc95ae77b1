import Foundation
import JobQueue

/// What every ``ScheduleStore`` driver checks when a schedule is added and makes when it fires:
/// the jobs of its prompts, checked as `submit` checks a file, at most one submit chunk of them.
///
/// ```swift
/// let maker = ScheduleJobMaker(jobs: jobs, agents: agents)
/// let zone = try maker.check(new)          // refused as `submit` would refuse it
/// let (jobs, failure) = maker.jobsOrFailure(for: schedule)
/// ```
struct ScheduleJobMaker: Sendable {
    let jobs: any JobStore
    let agents: any AgentStore

    /// The most jobs one fire makes: a fire writes its batch in the transaction that moves the
    /// tick, which is only short for a batch of one submit chunk.
    static let maximumJobsPerFire = SQLiteJobStore.rowsPerTransaction

    /// Checks a schedule to add: its names, its time zone and its prompts.
    /// - returns: the time zone.
    /// - throws: ``AgentQError`` (`.invalidName`, `.invalidSchedule`, `.unknownAgent`, `.invalidInput`),
    ///   ``SubmitRejected`` for a bad file.
    func check(_ new: NewSchedule) throws -> TimeZone {
        try Name.validate(new.name, as: .schedule)
        try Name.validate(new.agent, as: .agent)
        if let session = new.session { try Name.validate(session, as: .session) }
        guard let zone = TimeZone(identifier: new.timeZone) else {
            throw AgentQError(.invalidSchedule, "unknown time zone \(Name.quoted(new.timeZone)) (use a name like Europe/Berlin or UTC)")
        }
        // Checked now, as `submit` would check it: a schedule that cannot make jobs is refused.
        _ = try makeJobs(prompts: new.prompts, agent: new.agent, session: new.session, priority: new.priority,
                         maxAttempts: new.maxAttempts)
        return zone
    }

    /// The jobs of a fire, or why its prompts no longer make jobs (the tick is then recorded `failed`).
    /// - throws: a ``JobQueue/StoreError`` reading the agents.
    func jobsOrFailure(for schedule: Schedule) throws -> (jobs: [NewJob], failure: String?) {
        do {
            return (try makeJobs(schedule), nil)
        } catch let rejected as SubmitRejected {
            return ([], rejected.description)
        } catch let error as AgentQError {
            return ([], error.message)
        }
    }

    /// The jobs of one fire.
    /// - throws: ``AgentQError``, ``SubmitRejected``, or a ``JobQueue/StoreError``.
    func makeJobs(_ schedule: Schedule) throws -> [NewJob] {
        try makeJobs(prompts: schedule.prompts, agent: schedule.agent, session: schedule.session, priority: schedule.priority,
                     maxAttempts: schedule.maxAttempts)
    }

    /// The jobs one fire enqueues, checked like `submit` checks a file.
    private func makeJobs(prompts: SchedulePrompts, agent: String, session: String?, priority: Int, maxAttempts: Int) throws -> [NewJob] {
        switch prompts {
        case .input(let text):
            guard try agents.agent(named: agent) != nil else {
                throw AgentQError(.unknownAgent, "unknown agent '\(agent)' (add it with: agentq agents add FILE.json)")
            }
            guard !text.isEmpty else { throw AgentQError(.invalidInput, "--input is empty") }
            return [NewJob(lane: session, handler: agent, input: text, priority: priority, maxAttempts: maxAttempts)]
        case .file(let name, let content):
            var options = SubmitOptions(
                source: name, defaultAgent: agent, defaultPriority: priority, defaultMaxAttempts: maxAttempts)
            options.defaultSession = session
            options.refusesRunAt = true
            let made = try Submitter(store: jobs, agents: agents).prepare(Data(content.utf8), options: options).jobs
            // A fire writes its batch in the transaction that moves the tick, holding the write
            // lock meanwhile: that is only short for a batch of one submit chunk (~50 ms).
            guard made.count <= Self.maximumJobsPerFire else {
                throw AgentQError(
                    .invalidInput,
                    "\(name): \(made.count) jobs; a schedule's file may hold at most \(Self.maximumJobsPerFire) "
                        + "(submit larger files with agentq submit from cron; see jobs/crontab.example)")
            }
            return made
        }
    }

    /// How a schedule's prompts are stored: `input` with the text, or `file` with its content and name.
    static func stored(_ prompts: SchedulePrompts) -> (kind: String, content: String, source: String?) {
        switch prompts {
        case .input(let text): ("input", text, nil)
        case .file(let name, let text): ("file", text, name)
        }
    }

    /// The prompts of a stored schedule.
    static func prompts(kind: String, content: String, source: String?) -> SchedulePrompts {
        kind == "file" ? .file(name: source ?? "-", content: content) : .input(content)
    }

    /// What a due tick became, once its fire holds the tick: `failed` when its prompts made no
    /// jobs, `skipped` when overlap is `skip` and `unfinishedPrevious` names a batch still running.
    static func outcome(
        failure: String?, overlap: OverlapPolicy, unfinishedPrevious: () throws -> String?
    ) throws -> (outcome: ScheduleRun.Outcome, message: String?) {
        if let failure { return (.failed, failure) }
        if overlap == .skip, let previous = try unfinishedPrevious() { return (.skipped, "batch \(previous) is still running") }
        return (.fired, nil)
    }

    static func notFound(_ name: String) -> AgentQError {
        AgentQError(.notFound, "no schedule named \(Name.quoted(name)) (agentq schedules list shows them)")
    }

    static func alreadyExists(_ name: String) -> AgentQError {
        AgentQError(.alreadyExists, "schedule \(Name.quoted(name)) exists (--replace replaces it)")
    }
}
