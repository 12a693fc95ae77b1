import AgentQTesting
import Foundation
import Testing

/// A fresh agentq home for one test, driven only through the built `agentq` binary.
///
/// The home is `<tmp>/home`; input files the test writes go to `<tmp>/files`, so they never
/// mix with what agentq writes.
///
/// ```swift
/// let cli = try CLIHome()
/// defer { cli.remove() }
/// let output = try cli.run(["submit", file, "--json"])
/// ```
final class CLIHome: Sendable {
    let directory: TemporaryDirectory
    let home: String
    let files: String

    init() throws {
        directory = try TemporaryDirectory(prefix: "agentq-cli")
        home = directory.url.appendingPathComponent("home").path
        files = directory.url.appendingPathComponent("files").path
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
    }

    func remove() { directory.remove() }

    // MARK: Running the binary

    /// Runs `agentq ARGUMENTS` to the end with `AGENTQ_HOME` set to this home.
    func run(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws
        -> AgentQProcess.Output
    {
        try AgentQProcess.run(arguments, home: home, stdin: stdin, environment: environment)
    }

    /// Starts `agentq ARGUMENTS` in the background.
    func start(_ arguments: [String], stdin: String? = nil) throws -> RunningProcess {
        try AgentQProcess.start(arguments, home: home, stdin: stdin)
    }

    /// Runs a command that must succeed and returns its stdout.
    func runOK(
        _ arguments: [String], stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let output = try run(arguments, stdin: stdin)
        #expect(
            output.exitCode == 0,
            "agentq \(arguments.joined(separator: " ")) exited \(output.exitCode); stderr: \(output.stderr)",
            sourceLocation: sourceLocation)
        return output.stdout
    }

    /// Runs a command with `--json` output that must succeed, and decodes its stdout.
    func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
        let stdout = try runOK(arguments, sourceLocation: sourceLocation)
        return try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
    }

    func jsonObject(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let value = try json(arguments, sourceLocation: sourceLocation)
        return try #require(value as? [String: Any], "not a JSON object: \(value)", sourceLocation: sourceLocation)
    }

    func jsonArray(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let value = try json(arguments, sourceLocation: sourceLocation)
        return try #require(value as? [[String: Any]], "not a JSON array of objects: \(value)", sourceLocation: sourceLocation)
    }

    // MARK: Inputs

    /// Writes `text` to a file outside the home and returns its absolute path.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        let path = files + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func write(_ data: Data, to name: String) throws -> String {
        let path = files + "/" + name
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes an agent definition file and runs `agentq agents add` on it.
    func addAgent(_ definition: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = try write(definition, to: "agent-\(UUID().uuidString.prefix(8)).json")
        _ = try runOK(["agents", "add", file], sourceLocation: sourceLocation)
    }

    /// `agentq submit FILE --json ARGUMENTS`; returns the batch ID and the job count.
    func submit(
        _ file: String, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (batchID: String, jobs: Int) {
        let report = try jsonObject(["submit", file, "--json"] + arguments, sourceLocation: sourceLocation)
        let batchID = try #require(report["batch_id"] as? String, sourceLocation: sourceLocation)
        let jobs = try #require(report["jobs"] as? Int, sourceLocation: sourceLocation)
        return (batchID, jobs)
    }

    // MARK: Reading state

    /// The job objects of a batch, in input order.
    func jobs(batch: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        try jsonArray(["jobs", "list", "--batch", batch, "--limit", "100000", "--json"], sourceLocation: sourceLocation)
    }

    func jobIDs(batch: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try jobs(batch: batch, sourceLocation: sourceLocation).map { try #require($0["job_id"] as? String) }
    }

    /// `agentq jobs get ID --json`.
    func job(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try jsonObject(["jobs", "get", id, "--json"], sourceLocation: sourceLocation)
    }

    func status(ofJob id: String) throws -> String? {
        try job(id)["status"] as? String
    }

    /// `agentq batch status ID --json`.
    func batchStatus(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try jsonObject(["batch", "status", id, "--json"], sourceLocation: sourceLocation)
    }

    var resultsDirectory: String { home + "/results" }

    /// The names of the finished result files (no temporaries).
    func resultFiles() throws -> [String] {
        guard FileManager.default.fileExists(atPath: resultsDirectory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: resultsDirectory)
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .sorted()
    }

    func resultFileExists(jobID: String) -> Bool {
        FileManager.default.fileExists(atPath: resultsDirectory + "/\(jobID).json")
    }

    /// `results/<job_id>.json`, decoded.
    func result(jobID: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: resultsDirectory + "/\(jobID).json"))
        let value = try JSONSerialization.jsonObject(with: data)
        return try #require(value as? [String: Any], sourceLocation: sourceLocation)
    }
}

/// JSONL text with one object per line.
func jsonLines(_ objects: [[String: Any]]) throws -> String {
    try objects.map { object in
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }.joined(separator: "\n") + "\n"
}

/// Decodes JSONL text into objects, one per non-empty line.
func parseJSONLines(_ text: String) throws -> [[String: Any]] {
    try text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
        let value = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(value as? [String: Any], "not a JSON object: \(line)")
    }
}

/// `error.type` of a job or result object.
func errorType(_ object: [String: Any]) -> String? {
    (object["error"] as? [String: Any])?["type"] as? String
}

/// The directory of this test file's package (`/…/main`).
func packageRoot(_ file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Ends a background process this test started if it is still running (never fails the test).
func stopIfRunning(_ process: RunningProcess) {
    if process.process.isRunning {
        process.signal(SIGKILL)
        _ = process.wait()
    }
}

/// Suites that start several agentq processes and measure time run one at a time, so one
/// suite's load cannot push another's deadlines.
@Suite(.serialized) struct MultiProcess {}
