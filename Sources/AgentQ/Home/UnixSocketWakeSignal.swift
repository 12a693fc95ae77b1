import Foundation
import JobQueue

/// Wake-ups between the processes of one home: each listening worker binds a Unix datagram
/// socket in `<home>/wake/`, and a nudge is a one-byte datagram sent to every socket there.
///
/// Sends never block (`MSG_DONTWAIT`): a full queue already holds a wake-up. The socket of a
/// process that died without removing it refuses the datagram and is removed by the sender.
///
/// ```swift
/// let signal = UnixSocketWakeSignal(directory: home.wakeDirectory)
/// let stop = try signal.listen { print("woken") }
/// signal.notify()
/// stop()
/// ```
public final class UnixSocketWakeSignal: WakeSignal {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    public func notify() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        let sender = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sender >= 0 else { return }
        defer { close(sender) }
        var byte: UInt8 = 1
        for name in names where name.hasSuffix(".sock") {
            let path = directory.appendingPathComponent(name).path
            guard var address = Self.address(path) else { continue }
            let sent = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(sender, &byte, 1, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            // Nobody bound to it: its worker died without removing it.
            if sent < 0 && errno == ECONNREFUSED { unlink(path) }
        }
    }

    /// - throws: ``AgentQError`` when the socket cannot be made (its path too long for a Unix
    ///   socket, the home read-only); the worker then relies on its poll.
    public func listen(_ wake: @escaping @Sendable () -> Void) throws -> @Sendable () -> Void {
        try FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory.appendingPathComponent("\(getpid())-\(SortableID.make(prefix: "").suffix(8)).sock").path
        guard var address = Self.address(path) else {
            throw AgentQError(.io, "the path \(path) is too long for a Unix socket")
        }
        let listener = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw AgentQError(.io, "cannot make a socket: \(String(cString: strerror(errno)))") }
        unlink(path)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(listener)
            throw AgentQError(.io, "cannot listen on \(path): \(reason)")
        }
        let stopped = Locked(false)
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let received = recv(listener, &buffer, buffer.count, 0)
                if stopped.current { break }
                if received > 0 { wake() } else if received < 0 && errno != EINTR { break }
            }
            close(listener)
        }
        thread.name = "agentq.wake"
        thread.start()
        return {
            let wasStopped = stopped.update { value in
                defer { value = true }
                return value
            }
            guard !wasStopped else { return }
            unlink(path)
            // recv does not return for a close from another thread; shutdown makes it return 0.
            shutdown(listener, Int32(SHUT_RDWR))
        }
    }

    /// `path` as a Unix socket address, or nil when it does not fit.
    private static func address(_ path: String) -> sockaddr_un? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { target in
            target.copyBytes(from: bytes)
            target[bytes.count] = 0
        }
        return address
    }
}
