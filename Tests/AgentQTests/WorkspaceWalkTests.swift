import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// How the file tools walk a path from the workspace: symlinks, missing parents, things that
/// are not directories, loops and special files.
@Suite("File tools: walking a path in the workspace")
struct WorkspaceWalkTests {
    static func context(_ directory: TemporaryDirectory) -> ToolContext {
        ToolContext(workspace: directory.url, token: CancellationToken(), sandbox: .bubblewrap(allowNetwork: false))
    }

    static func write(_ path: String, _ content: String, _ context: ToolContext) throws -> ToolOutput {
        try WriteFileTool().run(arguments: ["path": .string(path), "content": .string(content)], context: context)
    }

    static func read(_ path: String, _ context: ToolContext) throws -> ToolOutput {
        try ReadFileTool().run(arguments: ["path": .string(path)], context: context)
    }

    @Test("a dangling symlink inside the workspace is written through, creating the parents it names")
    func danglingSymlinkInside() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/later", withDestinationPath: "sub/new.txt")
        #expect(try Self.write("later", "hi", Self.context(directory)) == ToolOutput(content: "wrote 2 bytes to sub/new.txt"))
        #expect(FileManager.default.contents(atPath: directory.path + "/sub/new.txt") == Data("hi".utf8))
        #expect(try Self.read("later", Self.context(directory)) == ToolOutput(content: "hi"))
    }

    @Test("an absolute symlink to the workspace's own path is followed inside it")
    func absoluteSymlinkToWorkspace() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path + "/real", withIntermediateDirectories: true)
        try directory.write("text", to: "real/f.txt")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/alias", withDestinationPath: directory.path + "/real")
        #expect(try Self.read("alias/f.txt", Self.context(directory)) == ToolOutput(content: "text"))
        #expect(try ListFilesTool().run(arguments: ["path": .string("alias")], context: Self.context(directory))
            == ToolOutput(content: "f.txt"))
    }

    @Test("a missing directory followed by .. is not created")
    func missingThenParent() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        #expect(try Self.write("ghost/../x.txt", "x", Self.context(directory)) == ToolOutput(content: "wrote 1 bytes to x.txt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["x.txt"])
        let missing = try Self.read("ghost/x.txt", Self.context(directory))
        #expect(missing == ToolOutput(content: "file 'ghost/x.txt' does not exist", isError: true))
        let listing = try ListFilesTool().run(arguments: ["path": .string("ghost")], context: Self.context(directory))
        #expect(listing == ToolOutput(content: "directory 'ghost' does not exist", isError: true))
    }

    @Test("a path through a file is refused, naming the file, and nothing is written")
    func throughAFile() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        try directory.write("plain", to: "a.txt")
        for output in [try Self.write("a.txt/b.txt", "x", Self.context(directory)), try Self.read("a.txt/b.txt", Self.context(directory))] {
            #expect(output == ToolOutput(content: "path 'a.txt/b.txt' goes through 'a.txt', which is not a directory", isError: true))
        }
        #expect(FileManager.default.contents(atPath: directory.path + "/a.txt") == Data("plain".utf8))
    }

    @Test("a symlink loop is refused")
    func symlinkLoop() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/ping", withDestinationPath: "pong")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/pong", withDestinationPath: "ping")
        let output = try Self.write("ping", "x", Self.context(directory))
        #expect(output == ToolOutput(content: "path 'ping' has too many levels of symbolic links", isError: true))
    }

    @Test("a FIFO is refused at once instead of blocking the read")
    func fifoRefused() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        #expect(mkfifo(directory.path + "/pipe", 0o644) == 0)
        #expect(try Self.read("pipe", Self.context(directory)) == ToolOutput(content: "'pipe' is not a regular file", isError: true))
    }

    @Test("overwriting keeps the file's permissions and leaves no temporary file")
    func overwriteKeepsMode() throws {
        let directory = try TemporaryDirectory(prefix: "agentq-walk")
        defer { directory.remove() }
        let path = try directory.write("old", to: "secret.conf")
        #expect(chmod(path, 0o600) == 0)
        #expect(try Self.write("secret.conf", "new", Self.context(directory)) == ToolOutput(content: "wrote 3 bytes to secret.conf"))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["secret.conf"])
        let onDirectory = try Self.write(".", "x", Self.context(directory))
        #expect(onDirectory == ToolOutput(content: "'.' is a directory", isError: true))
    }
}
