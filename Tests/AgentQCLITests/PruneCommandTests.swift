import AgentQTesting
import Foundation
import Testing

@Suite("agentq prune, stats and config")
struct PruneCommandTests {
    @Test("prune: usage errors name what is wrong; a dry run deletes nothing; a prune deletes jobs and files; jobs get says pruned")
    func pruneFromTheCommandLine() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let lines = (0..<20).map { "{\"input\": \"hello \($0)\"}" }.joined(separator: "\n")
        _ = try cli.runOK(["submit", "-", "--agent", "echo"], stdin: lines)
        _ = try cli.runOK(["worker", "--drain"])
        let jobID = try #require(try cli.jsonArray(["jobs", "list", "--json"]).first?["job_id"] as? String)
        let results = URL(fileURLWithPath: cli.home).appendingPathComponent("results").path
        #expect(try resultFiles(results).count == 20)

        let bare = try cli.run(["prune"])
        #expect(bare.exitCode == 64 && bare.stderr.contains("--finished-before AGE"), "\(bare.stderr)")
        let badAge = try cli.run(["prune", "--finished-before", "7x"])
        #expect(badAge.exitCode == 64 && badAge.stderr.contains("\"7x\" for --finished-before"), "\(badAge.stderr)")
        let badKey = try cli.run(["config", "set", "retention.forever", "1d"])
        #expect(badKey.exitCode == 64 && badKey.stderr.contains("retention.forever"), "\(badKey.stderr)")
        let badValue = try cli.run(["config", "set", "retention.finished", "two weeks"])
        #expect(badValue.exitCode == 64 && badValue.stderr.contains("\"two weeks\""), "\(badValue.stderr)")

        let dry = try cli.jsonObject(["prune", "--finished-before", "0m", "--results", "--dry-run", "--json"])
        #expect((dry["jobs"] as? [String: Any])?["jobs"] as? Int == 20)
        #expect(dry["result_files"] as? Int == 20)
        #expect(try cli.jsonArray(["jobs", "list", "--json"]).count == 20, "a dry run deleted jobs")
        #expect(try resultFiles(results).count == 20, "a dry run deleted files")

        let done = try cli.jsonObject(["prune", "--finished-before", "0m", "--results", "--json"])
        #expect((done["jobs"] as? [String: Any])?["jobs"] as? Int == 20)
        #expect((done["jobs"] as? [String: Any])?["batches"] as? Int == 1)
        #expect(done["result_files"] as? Int == 20)
        #expect(try resultFiles(results).isEmpty)
        let get = try cli.run(["jobs", "get", jobID])
        #expect(get.exitCode == 1 && get.stderr.contains("was pruned"), "\(get.stderr)")

        _ = try cli.runOK(["config", "set", "retention.finished", "14d"])
        #expect(try cli.runOK(["config", "get", "retention.finished"]) == "14d\n")
        let stats = try cli.jsonObject(["stats", "--json"])
        #expect((stats["jobs"] as? [String: Any])?["succeeded"] as? Int == 0)
        #expect(stats["result_files"] as? Int == 0)
        #expect((stats["database"] as? [String: Any])?["incremental_vacuum"] as? Bool == true)
        #expect((stats["retention"] as? [String: Any])?["finished"] as? String == "14d")
        _ = try cli.runOK(["config", "unset", "retention.finished"])
        #expect(try cli.run(["config", "get", "retention.finished"]).exitCode == 1)
    }

    /// The result files (`*.json`) in the results directory.
    func resultFiles(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".json") }
    }
}

extension PruneCommandTests {
    /// A python3 one-off against the home's database (the sqlite3 module ships with python).
    static func sqlite(_ database: String, _ statements: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                + "r = None\nfor s in sys.argv[2].split(';'):\n    r = c.execute(s).fetchall() if s.strip() else r\nprint(r[0][0] if r else '')",
            database, statements,
        ]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        process.waitUntilExit()
        return String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("prune --vacuum turns a home made before incremental vacuum into one that gives space back")
    func vacuumConvertsAnOldHome() throws {
        let cli = try CLIHome()
        defer { cli.remove() }
        let lines = (0..<200).map { "{\"input\": \"\(String(repeating: "x", count: 2000)) \($0)\"}" }.joined(separator: "\n")
        _ = try cli.runOK(["submit", "-", "--agent", "echo"], stdin: lines)
        let database = cli.home + "/agentq.db"
        // What an older agentq made: no auto_vacuum (switching needs a VACUUM).
        #expect(try Self.sqlite(database, "PRAGMA auto_vacuum = NONE; VACUUM; PRAGMA auto_vacuum") == "0")
        let output = try cli.runOK(["prune", "--vacuum"])
        #expect(output.contains("vacuumed"), "\(output)")
        #expect(try Self.sqlite(database, "PRAGMA auto_vacuum") == "2", "not incremental after prune --vacuum")
        #expect(try cli.jsonArray(["jobs", "list", "--limit", "1000", "--json"]).count == 200, "vacuum lost jobs")
    }
}
