/// The rule for session IDs and agent names: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
///
/// A session ID becomes a directory name under `<home>/workspaces`, so it must never be
/// able to name anything else: no `/`, no `.` or `..`, no leading `-` or `.`, nothing a
/// terminal would interpret. Agent names follow the same rule. Every place a name enters
/// (the CLI, a bulk line, the library API, a job's lane) checks it with this type.
///
/// ```swift
/// try Name.validate("../../victim", as: .session)
/// // throws AgentQError(.invalidName): invalid session name "../../victim" (letters, digits, . _ -; at most 128)
/// ```
public enum Name {
    /// What the name names, for the message.
    public enum Kind: String, Sendable {
        case session
        case agent
        case schedule
    }

    /// The longest name allowed.
    public static let maximumLength = 128

    /// Whether `text` follows the rule.
    public static func isValid(_ text: String) -> Bool {
        let bytes = text.utf8
        guard let first = bytes.first, bytes.count <= maximumLength, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// What is wrong with `text`, as a sentence for the user, or `nil` when it follows the rule.
    ///
    /// ```swift
    /// Name.problem(with: "..", as: .session)   // invalid session name ".." (letters, digits, . _ -; at most 128)
    /// ```
    public static func problem(with text: String, as kind: Kind) -> String? {
        guard !isValid(text) else { return nil }
        return "invalid \(kind.rawValue) name \(quoted(text)) (letters, digits, . _ -; at most \(maximumLength))"
    }

    /// Checks `text` against the rule.
    /// - throws: ``AgentQError`` `.invalidName` with ``problem(with:as:)``'s sentence.
    public static func validate(_ text: String, as kind: Kind) throws {
        if let problem = problem(with: text, as: kind) { throw AgentQError(.invalidName, problem) }
    }

    /// `text` in double quotes with everything a terminal could act on escaped (control and
    /// format characters as `\u{1B}`, plus `\n`, `\t`, `\"`, `\\`), cut at 200 characters.
    ///
    /// ```swift
    /// Name.quoted("x\u{1B}[2J")   // "x\u{1B}[2J"
    /// ```
    public static func quoted(_ text: String) -> String {
        "\"" + escaped(text, quotes: true, limit: 200) + "\""
    }

    /// `text` with control and format characters escaped (`\u{1B}`, `\n`, `\t`, `\r`), and
    /// `"` and `\` too when `quotes` is set; cut with `…` after `limit` characters.
    ///
    /// ```swift
    /// Name.escaped("No session found matching '\u{1B}[2J'", quotes: false)
    /// // No session found matching '\u{1B}[2J'   (the escape as six visible characters)
    /// ```
    public static func escaped(_ text: String, quotes: Bool, limit: Int = .max) -> String {
        var result = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == limit {
                result += "…"
                break
            }
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\"" where quotes: result += "\\\""
            case "\\" where quotes: result += "\\\\"
            default:
                switch scalar.properties.generalCategory {
                case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u{" + String(repeating: "0", count: max(0, 2 - hex.count)) + hex + "}"
                default:
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}
