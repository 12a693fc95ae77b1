import Foundation

/// Finding a run of bytes in a buffer: `memchr` to each place the first byte occurs, then
/// `memcmp` (glibc's `memmem` is not in Swift's Glibc module).
///
/// ```swift
/// let at = ByteSearch.firstIndex(of: Array("\r\n--b".utf8), in: body)   // an offset, or nil
/// let has = ByteSearch.contains(#""usage""#, in: output)
/// ```
public enum ByteSearch {
    /// The offset of the first occurrence of `needle` in `haystack`; nil when there is none (or
    /// `needle` is empty).
    public static func firstIndex(of needle: UnsafeRawBufferPointer, in haystack: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first, let needleBase = needle.baseAddress, let base = haystack.baseAddress,
            haystack.count >= needle.count
        else { return nil }
        let last = haystack.count - needle.count
        var start = 0
        while start <= last {
            guard let found = firstIndex(of: first, in: UnsafeRawBufferPointer(rebasing: haystack[start...last]))
            else { return nil }
            let index = start + found
            if memcmp(base + index, needleBase, needle.count) == 0 { return index }
            start = index + 1
        }
        return nil
    }

    /// The offset of the first `byte` in `haystack` (`memchr`); nil when there is none.
    public static func firstIndex(of byte: UInt8, in haystack: UnsafeRawBufferPointer) -> Int? {
        guard let base = haystack.baseAddress, !haystack.isEmpty,
            let found = memchr(base, Int32(byte), haystack.count)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    /// ``firstIndex(of:in:)`` over byte arrays.
    public static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        haystack.withUnsafeBytes { haystack in needle.withUnsafeBytes { firstIndex(of: $0, in: haystack) } }
    }

    /// Whether `text` contains `marker`, both compared as UTF-8 bytes.
    public static func contains(_ marker: String, in text: String) -> Bool {
        var text = text
        var marker = marker
        return text.withUTF8 { text in
            marker.withUTF8 { marker in
                firstIndex(of: UnsafeRawBufferPointer(marker), in: UnsafeRawBufferPointer(text)) != nil
            }
        }
    }
}
