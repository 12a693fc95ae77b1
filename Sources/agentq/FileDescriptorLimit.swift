import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Raises this process's open-file limit so that `--concurrency N` calls can each hold a socket.
///
/// Many systems start processes with a soft limit of 1,024 descriptors and a much higher hard
/// limit; servers raise the soft one themselves. When even the hard limit is too low, the user
/// is told which limit to raise, since calls beyond it would fail with "too many open files".
///
/// ```swift
/// FileDescriptorLimit.raise(toServe: 4096) { print($0) }
/// ```
enum FileDescriptorLimit {
    /// Descriptors kept for the database, result files, tools and the wake-up socket.
    static let reserve = 256

    static func raise(toServe concurrency: Int, log: (String) -> Void) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(concurrency + reserve)
        guard limit.rlim_cur < wanted else { return }
        let raised = min(wanted, limit.rlim_max)
        var new = limit
        new.rlim_cur = raised
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &new)
        if raised < wanted {
            log("--concurrency \(concurrency) may need \(wanted) open files, but the hard limit is \(limit.rlim_max) "
                + "(raise it with `ulimit -Hn` or LimitNOFILE=); calls beyond it will fail with \"too many open files\"")
        }
    }
}
