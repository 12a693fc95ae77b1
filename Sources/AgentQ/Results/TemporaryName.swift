import Foundation
import Synchronization

/// Names unique to this process for temporary files: a random part drawn once, and a counter.
///
/// A result file's temporary name needs to be unique among writers, not unpredictable (the
/// directory is the user's own); drawing a random number for each of thousands of files a
/// second was a `getrandom` system call each.
///
/// ```swift
/// let path = directory + "/." + job.id + "." + TemporaryName.next() + ".tmp"
/// ```
enum TemporaryName {
    private static let prefix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private static let counter = Atomic<UInt64>(0)

    /// A name no other call, in this process or another, returns.
    static func next() -> String {
        let number = counter.add(1, ordering: .relaxed).newValue
        return prefix + "-" + String(number, radix: 36)
    }
}
