import AgentQ
import Foundation
import JobQueue

/// Watches every turn the server's requests wait on, with one task and one query per round.
///
/// No request holds a thread while it waits: each reads its ``TurnWait/updates`` stream. One
/// loop reads the state of all the waited-on jobs in a single store call (off the event loop,
/// see ``blocking(_:)``) every ``interval``, sooner when this process's worker reports a turn
/// done or failed. For a streamed turn that another process runs, it also reads the messages
/// the turn stored since the last round and turns them into events, so the stream still shows
/// each tool call and the answer. The loop stops when nothing is waited on.
///
/// ```swift
/// let watcher = TurnWatcher(queue: queue, localWorkerID: environment.workerID)
/// let wait = watcher.makeWait(sessionID: id, followsStore: false, afterSeq: 0)
/// watcher.watch(wait, jobID: try manager.send(text, to: id, observing: wait.observer))
/// ```
final class TurnWatcher: @unchecked Sendable {
    let queue: AgentQueue
    /// The worker ID of this process's pool, nil when it runs none.
    let localWorkerID: String?
    let interval: Duration
    /// Rounds between checks of whether a queued turn's session is paused.
    static let pauseCheckRounds = 20

    private let lock = NSLock()
    private var waits: [String: TurnWait] = [:]
    private var looping = false
    private var sleeper: CheckedContinuation<Void, Never>?
    private var nudged = false

    init(queue: AgentQueue, localWorkerID: String?, interval: Duration = .milliseconds(25)) {
        self.queue = queue
        self.localWorkerID = localWorkerID
        self.interval = interval
    }

    /// A wait to register as the turn's observer before its job exists.
    /// - parameter afterSeq: the session's last message before the turn.
    func makeWait(sessionID: String, followsStore: Bool, afterSeq: Int) -> TurnWait {
        TurnWait(sessionID: sessionID, followsStore: followsStore, afterSeq: afterSeq) { [weak self] in self?.nudge() }
    }

    /// Starts watching the turn's job.
    func watch(_ wait: TurnWait, jobID: String) {
        lock.lock()
        waits[jobID] = wait
        let start = !looping
        looping = true
        lock.unlock()
        if start { Task { await self.loop() } } else { nudge() }
    }

    /// Stops watching (the request ended) and drops the in-process observer.
    func stop(jobID: String) {
        lock.lock()
        let wait = waits.removeValue(forKey: jobID)
        lock.unlock()
        wait?.finish()
        TurnObservers.shared.stopObserving(jobID: jobID)
    }

    /// Polls now instead of at the end of the interval.
    func nudge() {
        lock.lock()
        let waiting = sleeper
        sleeper = nil
        if waiting == nil { nudged = true }
        lock.unlock()
        waiting?.resume()
    }

    private func loop() async {
        while true {
            let round = lock.withLock { () -> [(String, TurnWait)]? in
                if waits.isEmpty {
                    looping = false
                    return nil
                }
                return waits.map { ($0.key, $0.value) }
            }
            guard let round else { return }
            do {
                let outcomes = try await blocking { [self] in try poll(round) }
                for (jobID, wait, updates) in outcomes {
                    for update in updates { wait.yield(update) }
                    if updates.contains(where: \.isEnd) { stop(jobID: jobID) }
                }
            } catch {
                // A busy database: the next round asks again; the waits keep waiting.
            }
            await sleep()
        }
    }

    /// Sleeps for the interval, or until nudged.
    private func sleep() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if nudged {
                nudged = false
                lock.unlock()
                continuation.resume()
                return
            }
            sleeper = continuation
            lock.unlock()
            let interval = self.interval
            Task { [weak self] in
                try? await Task.sleep(for: interval)
                self?.nudge()
            }
        }
        lock.withLock { nudged = false }
    }

    /// One round: every job's state in one read, and the new stored messages of streamed
    /// turns run elsewhere. Runs on the blocking pool.
    private func poll(_ round: [(String, TurnWait)]) throws -> [(String, TurnWait, [TurnUpdate])] {
        let jobs = Dictionary(try queue.store.jobs(ids: round.map(\.0)).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var outcomes: [(String, TurnWait, [TurnUpdate])] = []
        for (jobID, wait) in round {
            guard let job = jobs[jobID] else {
                outcomes.append((jobID, wait, [.vanished]))
                continue
            }
            wait.polls += 1
            var updates: [TurnUpdate] = []
            if wait.followsStore && ranElsewhere(job, wait: wait) {
                let messages = try queue.sessions.messages(sessionID: wait.sessionID, afterSeq: wait.lastSeq)
                if let last = messages.last { wait.lastSeq = last.seq }
                let events = wait.stored.events(from: messages.filter { $0.jobID == jobID })
                updates += events.filter { !wait.wasSentLive($0) }.map(TurnUpdate.event)
            }
            switch job.status {
            case .succeeded, .failed, .cancelled:
                updates.append(.finished(job))
            case .queued:
                if !wait.reportedPause && (wait.polls == 1 || wait.polls % Self.pauseCheckRounds == 0),
                    try queue.sessions.session(id: wait.sessionID)?.status == .paused
                {
                    wait.reportedPause = true
                    updates.append(.paused(job))
                }
            case .running:
                break
            }
            if !updates.isEmpty { outcomes.append((jobID, wait, updates)) }
        }
        return outcomes
    }

    /// Whether the turn's events must be read from the store: another process holds the job,
    /// or it finished (or went back to the queue) without this process's worker reporting any
    /// event. A worker here reports every event before the job's end is stored, so a turn that
    /// ran here is never read back twice.
    private func ranElsewhere(_ job: Job, wait: TurnWait) -> Bool {
        switch job.status {
        case .running: return job.workerID != localWorkerID
        case .queued: return job.attempts > 0 && !wait.observed
        case .succeeded, .failed, .cancelled: return !wait.observed
        }
    }
}

extension TurnUpdate {
    /// Whether the wait is over after this update.
    var isEnd: Bool {
        switch self {
        case .finished, .vanished: return true
        default: return false
        }
    }
}
