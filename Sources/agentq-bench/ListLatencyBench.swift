import AgentQ
import Foundation
import JobQueue

/// `make bench`'s list latencies: `agentq jobs list`, `batch status` and `sessions list` as a
/// user runs them (the whole process, wall clock) on a home with a million jobs.
///
/// The home: ten batches of 100,000 jobs submitted through the library (so IDs, batches and
/// staging are as `agentq submit` makes them), then moved by SQL to a realistic mix — seven
/// batches done (1 % failed, 0.5 % cancelled, outputs with usage), one half done, one with a
/// hundred running, one untouched — and 500 sessions of four messages, most ended. Building it
/// takes a while, so it is kept under the temporary directory and reused by the next run of the
/// same layout (the binary migrates it if its schema is newer).
///
/// ```swift
/// try ListLatencyBench(binary: "/path/to/agentq").run()
/// ```
struct ListLatencyBench {
    var binary: String
    var batches = 10
    var jobsPerBatch = 100_000
    var sessions = 500
    var runs = 15
    static let goalMilliseconds = 30.0

    /// - throws: what building the home or starting the binary throws.
    func run() throws {
        let (home, built) = try prepareHome()
        let batchID = try AgentQueue(home: home).store.batches(limit: batches)
            .first { $0.counts.queued > 0 && $0.counts.succeeded > 0 }?.id ?? ""
        let total = batches * jobsPerBatch
        let how = built.map { String(format: "built in %.1f s", $0) } ?? "reused"
        print("list latency: \(total) jobs in \(batches) batches, \(sessions) sessions (home \(how), \(home.root.path))")
        for arguments in [["--help"], ["jobs", "list"], ["batch", "status", batchID], ["sessions", "list"]] {
            var walls: [Double] = [], cpus: [Double] = []
            _ = try measure(arguments, home: home)   // the page cache warm, as for a user's second command
            for _ in 0..<runs {
                let (wall, cpu) = try measure(arguments, home: home)
                walls.append(wall)
                cpus.append(cpu)
            }
            let name = arguments == ["--help"] ? "agentq --help (start-up alone)" : "agentq " + arguments.prefix(2).joined(separator: " ")
            let goal = arguments == ["--help"] ? "" : String(format: " (goal: < %.0f ms)", Self.goalMilliseconds)
            print("  \(name.padding(toLength: 31, withPad: " ", startingAt: 0)): median \(String(format: "%5.1f", median(walls))) ms wall, "
                + "\(String(format: "%5.1f", median(cpus))) ms CPU of \(runs) runs\(goal); load average \(loadAverage())")
        }
    }

    private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    private func loadAverage() -> String {
        ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?")
            .split(separator: " ").prefix(3).joined(separator: " ")
    }

    /// One run of the binary: wall time and the CPU time it used (user + system), in ms.
    ///
    /// Spawned and reaped by hand: Foundation's `Process` notices a child's exit up to tens of
    /// milliseconds late, more than the figure measured.
    private func measure(_ arguments: [String], home: AgentQHome) throws -> (wall: Double, cpu: Double) {
        var environment = ProcessInfo.processInfo.environment
        environment["AGENTQ_HOME"] = home.root.path
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let spawned = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard spawned == 0 else { throw CocoaError(.executableLoad, userInfo: ["errno": spawned]) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let milliseconds = { (time: timeval) in Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        if status != 0 { print("  agentq \(arguments.joined(separator: " ")) exited with wait status \(status)") }
        return (wall, milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime))
    }

    /// The home of a previous run with the same layout, or a new one; and how long building took.
    private func prepareHome() throws -> (AgentQHome, Double?) {
        let root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("agentq-bench-lists-\(batches)x\(jobsPerBatch)-\(sessions)-v1")
        let home = AgentQHome(root: root)
        let complete = root.appendingPathComponent("complete")
        if FileManager.default.fileExists(atPath: complete.path) { return (home, nil) }
        try? FileManager.default.removeItem(at: root)
        let elapsed = try seconds { try build(home) }
        _ = FileManager.default.createFile(atPath: complete.path, contents: Data())
        return (home, elapsed)
    }

    private func build(_ home: AgentQHome) throws {
        let queue = try AgentQueue(home: home)
        for batch in 0..<batches {
            _ = try queue.store.enqueue(batch: NewBatch(source: "bench-\(batch).jsonl")) { inserter in
                for index in 0..<jobsPerBatch {
                    try inserter.insert(NewJob(
                        customID: "row-\(index)", handler: "echo", input: "Summarise item number \(index) in one sentence."))
                }
            }
        }
        let ids = try queue.store.batches(limit: batches).map(\.id).reversed() as [String]
        let output = """
            '{"response":"echo: Summarise item number ' || seq || ' in one sentence.","tool_calls":[],"usage":{"input_tokens":' \
            || (seq % 50 + 10) || ',"output_tokens":' || (seq % 40 + 5) || ',"cached_input_tokens":0,"cache_write_tokens":0,\
            "reasoning_tokens":0,"cost_usd":0.000' || (seq % 900 + 100) || '},"steps":1}'
            """
        let finished = """
            attempts = 1, started_at = created_at + 10, finished_at = created_at + 1000, worker_id = NULL
            """
        for (index, batchID) in ids.enumerated() {
            try queue.sqliteDatabase!.write { db, _ in
                switch index {
                case 0..<(batches - 3):
                    try db.execute(sql: """
                        UPDATE jobs SET \(finished),
                            status = CASE WHEN seq % 100 = 7 THEN 'failed' WHEN seq % 200 = 3 THEN 'cancelled' ELSE 'succeeded' END,
                            output = CASE WHEN seq % 100 = 7 OR seq % 200 = 3 THEN NULL ELSE \(output) END,
                            error_type = CASE WHEN seq % 100 = 7 THEN 'agent_error' WHEN seq % 200 = 3 THEN 'cancelled' END,
                            error_message = CASE WHEN seq % 100 = 7 THEN 'the model said no' WHEN seq % 200 = 3 THEN 'cancelled while queued' END
                        WHERE batch_id = ?
                        """, arguments: [batchID])
                case batches - 3:
                    try db.execute(sql: "UPDATE jobs SET \(finished), status = 'succeeded', output = \(output) WHERE batch_id = ? AND seq % 2 = 0",
                                   arguments: [batchID])
                case batches - 2:
                    try db.execute(sql: """
                        UPDATE jobs SET status = 'running', attempts = 1, started_at = created_at + 10, worker_id = 'bench',
                            lease_until = 9999999999999
                        WHERE batch_id = ? AND seq % 1000 = 1
                        """, arguments: [batchID])
                default: break
                }
            }
        }
        try queue.sqliteDatabase!.write { db, _ in try SQLiteJobStore.recountBatchJobs(db) }   // statuses changed by hand
        // Sessions, as SQL: the library would run a turn for each.
        let now = Timestamp.now.milliseconds
        try queue.sqliteDatabase!.write { db, _ in
            for index in 0..<sessions {
                let id = "ses_bench\(String(format: "%015d", index))"
                let status = index % 10 < 6 ? "ended" : index % 10 < 8 ? "timeout" : "idle"
                let active = now - Int64(index) * (status == "idle" ? 1000 : 3_600_000)
                try db.execute(sql: """
                    INSERT INTO sessions (id, agent, title, status, workdir, managed_workdir, created_at, last_active_at, message_count)
                    VALUES (?, 'echo', ?, ?, ?, 1, ?, ?, 4)
                    """, arguments: [id, index % 3 == 0 ? "session \(index)" : nil, status,
                                     home.workspacesDirectory.appendingPathComponent(id).path, active - 60_000, active])
                for seq in 1...4 {
                    try db.execute(sql: """
                        INSERT INTO session_messages (session_id, seq, job_id, role, content, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [id, seq, "job_bench\(index)-\(seq / 2)", seq % 2 == 1 ? "user" : "assistant",
                                         "message \(seq)", active])
                }
            }
        }
        // Into the database file, as a home at rest is: not the WAL of its build.
        _ = try queue.sqliteDatabase!.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
    }
}
