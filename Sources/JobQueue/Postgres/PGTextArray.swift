/// A `text[]` literal (`{"a",NULL,"b"}`) for a column that may hold NULLs, bound as one text
/// parameter and cast with `::text[]`: postgres-nio binds `[String]` natively but has no
/// encoding for an array of optionals.
///
/// ```swift
/// let lanes = PGTextArray(jobs.map(\.lane))
/// try conn.query("SELECT * FROM unnest(\(lanes.literal)::text[])")
/// ```
struct PGTextArray {
    let literal: String

    init(_ values: [String?]) {
        var text = "{"
        text.reserveCapacity(values.count * 8)
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            guard let value else {
                text += "NULL"
                continue
            }
            // Quoted always: only a backslash and a double quote need escaping inside quotes.
            text += "\""
            for character in value.unicodeScalars {
                if character == "\\" || character == "\"" { text += "\\" }
                text.unicodeScalars.append(character)
            }
            text += "\""
        }
        text += "}"
        literal = text
    }
}
