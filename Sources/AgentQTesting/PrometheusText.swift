import Foundation

/// A scrape in the Prometheus text exposition format, parsed strictly enough to catch a
/// malformed line: `# TYPE`/`# HELP` comments and `name{label="value",…} number` samples.
///
/// ```swift
/// let metrics = try PrometheusText(parsing: response.text)
/// metrics.value("agentq_jobs", ["status": "succeeded"])   // 3.0
/// metrics.sum("agentq_job_claims_total")                  // over every label set
/// ```
public struct PrometheusText: Sendable {
    public struct Sample: Sendable, Hashable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public private(set) var samples: [Sample] = []
    /// `# TYPE` of each metric family.
    public private(set) var types: [String: String] = [:]

    /// - throws: ``ParseError`` naming the first line that is not the text format.
    public init(parsing text: String) throws {
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4 else { throw ParseError(description: "line \(number + 1): bad TYPE line '\(line)'") }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(Substring(line), number: number + 1))
        }
    }

    private static func sample(_ line: Substring, number: Int) throws -> Sample {
        func fail() -> ParseError { ParseError(description: "line \(number): not a sample: '\(line)'") }
        var rest = line[...]
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
        guard !name.isEmpty else { throw fail() }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = rest.prefix { $0 != "=" }
                rest = rest.dropFirst(key.count)
                guard rest.hasPrefix("=\"") else { throw fail() }
                rest = rest.dropFirst(2)
                var value = ""
                while let character = rest.first, character != "\"" {
                    rest = rest.dropFirst()
                    if character == "\\", let escaped = rest.first {
                        rest = rest.dropFirst()
                        value.append(escaped == "n" ? "\n" : escaped)
                    } else {
                        value.append(character)
                    }
                }
                guard rest.first == "\"" else { throw fail() }
                rest = rest.dropFirst()
                labels[String(key)] = value
                if rest.first == "," { rest = rest.dropFirst() }
                guard !rest.isEmpty else { throw fail() }
            }
            rest = rest.dropFirst()
        }
        let fields = rest.split(separator: " ")
        guard let first = fields.first, let value = Double(first) ?? (first == "+Inf" ? .infinity : nil) else { throw fail() }
        return Sample(name: String(name), labels: labels, value: value)
    }

    /// The value of the sample with exactly these labels, or nil.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// The sum of every sample of that name whose labels include `matching`.
    public func sum(_ name: String, matching: [String: String] = [:]) -> Double {
        samples.filter { sample in
            sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value }
        }.reduce(0) { $0 + $1.value }
    }
}
