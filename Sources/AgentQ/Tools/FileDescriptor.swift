#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor, closed when the last reference to it goes.
///
/// ```swift
/// let directory = FileDescriptor(open("/srv/ws", O_RDONLY | O_DIRECTORY | O_CLOEXEC))
/// let file = openat(directory.raw, "notes.txt", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
/// ```
final class FileDescriptor {
    let raw: Int32

    /// - parameter raw: a descriptor this object now owns (not negative).
    init(_ raw: Int32) {
        self.raw = raw
    }

    deinit {
        close(raw)
    }

    /// The text of the C library's message for `code` (`errno`), e.g. "Permission denied".
    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
