import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

/// The worker's environment holds API keys; no command an agent runs may see it.
@Suite("bash environment")
struct BashEnvironmentTests {
    static let secretName = "AGENTQ_TEST_SECRET_KEY"
    static let secretValue = "sk-never-show-me-0123456789"

    func runEnv(sandbox: SandboxPolicy) throws -> ToolOutput {
        setenv(Self.secretName, Self.secretValue, 1)
        defer { unsetenv(Self.secretName) }
        let workspace = try TemporaryDirectory(prefix: "bash-env")
        defer { workspace.remove() }
        let bash = try #require(try ToolRegistry.tools(named: ["bash"]).first)
        return try bash.run(
            arguments: ["command": .string("env; echo HOME=$HOME")],
            context: ToolContext(workspace: workspace.url, token: CancellationToken(), sandbox: sandbox))
    }

    @Test("without a sandbox, bash still gets none of the worker's variables")
    func unsandboxed() throws {
        let output = try runEnv(sandbox: .none)
        #expect(!output.isError)
        #expect(output.content.contains("PATH="))
        #expect(!output.content.contains(Self.secretValue))
        #expect(!output.content.contains(Self.secretName))
    }

    @Test("inside bubblewrap, bash gets none of the worker's variables")
    func sandboxed() throws {
        let output = try runEnv(sandbox: .bubblewrap(allowNetwork: false))
        #expect(!output.isError)
        #expect(output.content.contains("PATH="))
        #expect(!output.content.contains(Self.secretValue))
    }
}
