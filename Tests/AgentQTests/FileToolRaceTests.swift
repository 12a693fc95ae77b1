import AgentQ
import AgentQTesting
import Foundation
import JobQueue
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The file tools while a directory of the workspace is swapped, in a tight loop, with a
/// symlink to a directory outside it: a check-then-use gap would let a read, write, edit or
/// listing land outside.
@Suite("File tools against a racing symlink swap")
struct FileToolRaceTests {
    static let outsideSecret = "OUTSIDE-SECRET"
    /// The tool calls stop after this many rounds, or after `maximumSeconds`, whichever comes first.
    static let maximumRounds = 20_000
    static let maximumSeconds = 4.0

    @Test("a directory swapped with a symlink to the outside: nothing outside is ever read, written or listed")
    func swappedDirectoryNeverEscapes() throws {
        let workspace = try TemporaryDirectory(prefix: "agentq-race-workspace")
        defer { workspace.remove() }
        let outside = try TemporaryDirectory(prefix: "agentq-race-outside")
        defer { outside.remove() }
        try outside.write(Self.outsideSecret, to: "secret.txt")
        try outside.write("alpha OUTSIDE", to: "edit.txt")
        try outside.write("", to: "only-outside.txt")
        let outsideEditInode = try Self.inode(outside.path + "/edit.txt")

        // `link` starts as a real directory; `.swap` is a symlink to the outside. The swapper
        // exchanges the two names atomically, over and over.
        let files = FileManager.default
        try files.createDirectory(atPath: workspace.path + "/link", withIntermediateDirectories: false)
        try workspace.write("inside", to: "link/secret.txt")
        try workspace.write("alpha inside", to: "link/edit.txt")
        try workspace.write("", to: "link/only-inside.txt")
        try files.createSymbolicLink(atPath: workspace.path + "/.swap", withDestinationPath: outside.path)
        let swapper = try SymlinkSwapper(workspace.path + "/link", workspace.path + "/.swap")
        // And a file swapped with a symlink to the outside secret, for the last component of a path.
        try workspace.write("inside", to: "file")
        try files.createSymbolicLink(atPath: workspace.path + "/.file-swap", withDestinationPath: outside.path + "/secret.txt")
        let fileSwapper = try SymlinkSwapper(workspace.path + "/file", workspace.path + "/.file-swap")
        swapper.start()
        fileSwapper.start()

        let context = ToolContext(
            workspace: workspace.url, token: CancellationToken(), sandbox: .bubblewrap(allowNetwork: false))
        var leaks: [String] = []
        var readsInside = 0
        var readsRefused = 0
        var rounds = 0
        let deadline = Date(timeIntervalSinceNow: Self.maximumSeconds)
        while rounds < Self.maximumRounds, Date() < deadline, leaks.count < 5 {
            rounds += 1
            let read = try ReadFileTool().run(arguments: ["path": .string("link/secret.txt")], context: context)
            if read.content.contains(Self.outsideSecret) { leaks.append("read_file returned the outside secret") }
            if read == ToolOutput(content: "inside") { readsInside += 1 } else { readsRefused += 1 }
            let readFile = try ReadFileTool().run(arguments: ["path": .string("file")], context: context)
            if readFile.content.contains(Self.outsideSecret) { leaks.append("read_file returned the outside secret through the last component") }

            _ = try WriteFileTool().run(
                arguments: ["path": .string("link/pwned.txt"), "content": .string("pwned")], context: context)
            if files.fileExists(atPath: outside.path + "/pwned.txt") { leaks.append("write_file wrote outside") }

            let listed = try ListFilesTool().run(arguments: ["path": .string("link")], context: context)
            if listed.content.contains("only-outside") { leaks.append("list_files listed the outside: \(listed.content)") }

            let edited = try EditFileTool().run(
                arguments: ["path": .string("link/edit.txt"), "old_string": .string("alpha"), "new_string": .string("alpha")],
                context: context)
            if edited.content.contains("OUTSIDE") { leaks.append("edit_file showed the outside: \(edited.content)") }
        }
        swapper.stop()
        fileSwapper.stop()

        // Whatever state the swap ended in, the inside directory is wherever `link` or `.swap` is a directory.
        let insideDirectory = Self.isDirectory(workspace.path + "/link") ? "/link" : "/.swap"
        let insideEdit = String(decoding: files.contents(atPath: workspace.path + insideDirectory + "/edit.txt") ?? Data(), as: UTF8.self)
        #expect(leaks.isEmpty, "after \(rounds) rounds and \(swapper.swaps) + \(fileSwapper.swaps) swaps: \(leaks)")
        #expect(
            try files.contentsOfDirectory(atPath: outside.path).sorted() == ["edit.txt", "only-outside.txt", "secret.txt"],
            "something was written outside")
        #expect(String(decoding: files.contents(atPath: outside.path + "/edit.txt") ?? Data(), as: UTF8.self) == "alpha OUTSIDE")
        #expect(try Self.inode(outside.path + "/edit.txt") == outsideEditInode, "the outside edit.txt was replaced")
        #expect(!insideEdit.contains("OUTSIDE"), "the outside file's text was written inside: \(insideEdit)")
        // The race was really run: both states of the swap were seen by the tools.
        #expect(readsInside > 0 && readsRefused > 0, "inside \(readsInside), refused \(readsRefused), swaps \(swapper.swaps)")
    }

    static func inode(_ path: String) throws -> UInt {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw POSIXError(.ENOENT) }
        return UInt(info.st_ino)
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

/// A thread that atomically exchanges two paths (`renameat2` with `RENAME_EXCHANGE`) until stopped.
private final class SymlinkSwapper: @unchecked Sendable {
    private typealias Renameat2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private static let renameExchange: UInt32 = 2

    private let first: String
    private let second: String
    private let exchange: Renameat2
    private let lock = NSLock()
    private var stopping = false
    private var count = 0
    private let finished = DispatchSemaphore(value: 0)

    struct Unavailable: Error {}

    /// - throws: ``Unavailable`` when the C library has no `renameat2` (glibc before 2.28).
    init(_ first: String, _ second: String) throws {
        // Swift's Glibc module does not declare renameat2; look it up in the C library.
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") else { throw Unavailable() }
        exchange = unsafeBitCast(symbol, to: Renameat2.self)
        self.first = first
        self.second = second
    }

    var swaps: Int { lock.withLock { count } }

    func start() {
        Thread { [self] in
            while !lock.withLock({ stopping }) {
                if exchange(AT_FDCWD, first, AT_FDCWD, second, Self.renameExchange) == 0 {
                    lock.withLock { count += 1 }
                }
            }
            finished.signal()
        }.start()
    }

    func stop() {
        lock.withLock { stopping = true }
        finished.wait()
    }
}
