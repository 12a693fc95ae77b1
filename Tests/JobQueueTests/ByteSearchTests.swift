import JobQueue
import Testing

@Suite("Byte search")
struct ByteSearchTests {
    @Test("finds the first occurrence at the start, the middle and the end, past partial matches")
    func firstIndex() {
        let text = Array("aaab--\r\n--b\r\n--boundary".utf8)
        #expect(ByteSearch.firstIndex(of: Array("aaab".utf8), in: text) == 0)
        #expect(ByteSearch.firstIndex(of: Array("aab".utf8), in: text) == 1)
        #expect(ByteSearch.firstIndex(of: Array("\r\n--b".utf8), in: text) == 6)
        #expect(ByteSearch.firstIndex(of: Array("boundary".utf8), in: text) == text.count - 8)
        #expect(ByteSearch.firstIndex(of: Array("boundaryX".utf8), in: text) == nil)
        #expect(ByteSearch.firstIndex(of: Array("zz".utf8), in: text) == nil)
        #expect(ByteSearch.firstIndex(of: [], in: text) == nil)
        #expect(ByteSearch.firstIndex(of: Array("a".utf8), in: []) == nil)
    }

    @Test("compares strings as UTF-8 bytes")
    func contains() {
        #expect(ByteSearch.contains(#""usage""#, in: #"{"response":"é🚀","usage":{}}"#))
        #expect(!ByteSearch.contains(#""usage""#, in: #"{"response":"no usage here"}"#))
        #expect(ByteSearch.contains("\n/tool ", in: "first line\n/tool bash {}"))
        #expect(!ByteSearch.contains("\n/tool ", in: "first line\r\n /tool bash {}"))
        #expect(ByteSearch.contains("🚀", in: "a🚀b"))
    }
}
