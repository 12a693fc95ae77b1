import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Two sessions' workspaces in one agentq home under `$HOME` (where a private `/tmp` hides
/// nothing): session A's sandboxed bash must see only the system, its own workspace at
/// `/workspace` and a private `/tmp`.
@Suite("Sandbox isolation between sessions")
struct SandboxIsolationTests {
    static let secret = "B-SECRET-4711"
    static let databaseSecret = "DATABASE-SECRET-0815"

    /// A home with a database file and two workspaces, A and B; B holds `secret.txt`.
    struct Home {
        let directory: TemporaryDirectory
        var home: String { directory.path }
        var database: String { home + "/agentq.db" }
        var workspaceA: String { home + "/workspaces/sesA" }
        var workspaceB: String { home + "/workspaces/sesB" }
        var contextA: ToolContext {
            ToolContext(
                workspace: URL(fileURLWithPath: workspaceA), token: CancellationToken(),
                sandbox: .bubblewrap(allowNetwork: false))
        }

        init() throws {
            directory = try TemporaryDirectory(
                prefix: ".agentq-test", under: FileManager.default.homeDirectoryForCurrentUser)
            let files = FileManager.default
            for workspace in [directory.path + "/workspaces/sesA", directory.path + "/workspaces/sesB"] {
                try files.createDirectory(atPath: workspace, withIntermediateDirectories: true)
            }
            try Data(SandboxIsolationTests.secret.utf8).write(to: URL(fileURLWithPath: directory.path + "/workspaces/sesB/secret.txt"))
            try Data(SandboxIsolationTests.databaseSecret.utf8).write(to: URL(fileURLWithPath: directory.path + "/agentq.db"))
        }

        func remove() { directory.remove() }

        /// Runs `command` in session A's sandboxed bash.
        func bashA(_ command: String) throws -> ToolOutput {
            try BashTool().run(arguments: ["command": .string(command)], context: contextA)
        }
    }

    @Test("another session's workspace cannot be listed or read")
    func otherWorkspaceInvisible() throws {
        let home = try Home()
        defer { home.remove() }
        // Errors go to /dev/null: they name the paths, and only what was found should print.
        let output = try home.bashA(
            "ls -A \(home.workspaceB) 2>/dev/null; cat \(home.workspaceB)/secret.txt 2>/dev/null; "
                + "cat \(home.home)/workspaces/*/secret.txt 2>/dev/null; ls -A \(home.home)/workspaces 2>/dev/null; "
                + "test -e \(home.workspaceB) && echo B-VISIBLE || echo B-ABSENT")
        #expect(!output.content.contains(Self.secret), "\(output.content)")
        #expect(output == ToolOutput(content: "B-ABSENT\nexit code: 0"))
    }

    @Test("the agentq home and its database cannot be listed or read")
    func homeAndDatabaseInvisible() throws {
        let home = try Home()
        defer { home.remove() }
        let output = try home.bashA(
            "ls -A \(home.home) 2>/dev/null; cat \(home.database) 2>/dev/null; ls -A \"$(dirname \(home.home))\" 2>/dev/null; "
                + "test -e \(home.database) && echo DB-VISIBLE || echo DB-ABSENT")
        #expect(!output.content.contains(Self.databaseSecret), "\(output.content)")
        #expect(output == ToolOutput(content: "DB-ABSENT\nexit code: 0"))
    }

    @Test("the root shows only the system directories, /dev, /proc, /tmp and /workspace")
    func onlySystemDirectories() throws {
        let home = try Home()
        defer { home.remove() }
        let output = try home.bashA(
            "ls -A /; for d in /root /home /var /srv /mnt /run /media /work; do "
                + "if [ -e $d ] && [ -n \"$(ls -A $d 2>/dev/null)\" ]; then echo \"NONEMPTY $d\"; fi; done")
        #expect(!output.isError, "\(output.content)")
        #expect(!output.content.contains("NONEMPTY"), "\(output.content)")
        let allowed: Set<String> = [
            "bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "opt", "dev", "proc", "tmp", "workspace",
        ]
        let entries = output.content.split(separator: "\n").dropLast().map(String.init)
        #expect(Set(entries).isSubset(of: allowed), "unexpected entries in /: \(entries)")
        #expect(entries.contains("workspace") && entries.contains("usr"), "\(entries)")
    }

    @Test("writes fail everywhere but /workspace and /tmp")
    func writesOnlyInWorkspaceAndTmp() throws {
        let home = try Home()
        defer { home.remove() }
        let name = "agentq-probe-\(UUID().uuidString.prefix(8))"
        let forbidden = ["/etc/\(name)", "/usr/\(name)", "/\(name)", "/opt/\(name)", home.home + "/\(name)", home.workspaceB + "/\(name)"]
        defer { for path in forbidden { unlink(path) } }
        for target in forbidden {
            let output = try home.bashA("echo x > \(target)")
            #expect(output.isError, "\(target): \(output.content)")
            #expect(!FileManager.default.fileExists(atPath: target), "\(target) was written")
        }
        let output = try home.bashA("echo data > /workspace/x && echo temp > /tmp/x && cat /tmp/x")
        #expect(output == ToolOutput(content: "temp\nexit code: 0"))
        #expect(FileManager.default.contents(atPath: home.workspaceA + "/x") == Data("data\n".utf8))
    }

    @Test("the working directory, HOME and PWD are /workspace")
    func workingDirectoryIsWorkspace() throws {
        let home = try Home()
        defer { home.remove() }
        let output = try home.bashA("pwd; echo \"$HOME\"; echo \"$PWD\"; echo hi > here.txt; ls /workspace")
        #expect(output == ToolOutput(content: "/workspace\n/workspace\n/workspace\nhere.txt\nexit code: 0"))
        #expect(FileManager.default.contents(atPath: home.workspaceA + "/here.txt") == Data("hi\n".utf8))
    }

    @Test("the file tools take /workspace/… as the workspace, and refuse what only looks like it")
    func fileToolsAcceptSandboxPaths() throws {
        let home = try Home()
        defer { home.remove() }
        let context = home.contextA
        let written = try WriteFileTool().run(
            arguments: ["path": .string("/workspace/notes/a.txt"), "content": .string("hello")], context: context)
        #expect(written == ToolOutput(content: "wrote 5 bytes to notes/a.txt"))
        #expect(FileManager.default.contents(atPath: home.workspaceA + "/notes/a.txt") == Data("hello".utf8))
        #expect(try ReadFileTool().run(arguments: ["path": .string("/workspace/notes/a.txt")], context: context)
            == ToolOutput(content: "hello"))
        #expect(try ListFilesTool().run(arguments: ["path": .string("/workspace")], context: context)
            == ToolOutput(content: "notes/"))
        #expect(try ListFilesTool().run(arguments: ["path": .string("/workspace/")], context: context)
            == ToolOutput(content: "notes/"))
        let edited = try EditFileTool().run(
            arguments: ["path": .string("/workspace/notes/a.txt"), "old_string": .string("hello"), "new_string": .string("bye")],
            context: context)
        #expect(edited == ToolOutput(content: "edited notes/a.txt: replaced 1 occurrence"))

        for path in ["/workspacex/a.txt", "/workspace/../etc/passwd", "/workspace/../workspaces/sesB/secret.txt"] {
            let output = try ReadFileTool().run(arguments: ["path": .string(path)], context: context)
            #expect(output.isError, "\(path): \(output.content)")
            #expect(output.content.contains("'\(path)' is outside the workspace"), "\(path): \(output.content)")
        }
    }

    @Test("a symlink made in the sandbox to /workspace/… works with the file tools")
    func sandboxSymlinkFollowed() throws {
        let home = try Home()
        defer { home.remove() }
        let made = try home.bashA("mkdir real && echo inside > real/f.txt && ln -s /workspace/real alias")
        #expect(made == ToolOutput(content: "exit code: 0"))
        let read = try ReadFileTool().run(arguments: ["path": .string("alias/f.txt")], context: home.contextA)
        #expect(read == ToolOutput(content: "inside\n"))
        let written = try WriteFileTool().run(
            arguments: ["path": .string("alias/g.txt"), "content": .string("ok")], context: home.contextA)
        #expect(written == ToolOutput(content: "wrote 2 bytes to real/g.txt"))
    }
}
