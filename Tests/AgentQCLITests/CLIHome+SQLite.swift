import Foundation
import Testing

extension CLIHome {
    /// Runs SQL on the home's database with the `sqlite3` command-line shell, as another
    /// program (or an older agentq) would.
    ///
    /// ```swift
    /// try cli.sqlite("UPDATE jobs SET lane = '../x'")
    /// ```
    /// - throws: when `sqlite3` cannot be started or fails.
    func sqlite(_ sql: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [home + "/agentq.db", sql]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "sqlite3 failed on: \(sql)", sourceLocation: sourceLocation)
    }
}
