import ArgumentParser

/// Range checks for numeric options, as usage errors (exit 64) that name the option.
///
/// Numeric options are declared with `parsing: .unconditional`, so `--priority -1` reads `-1`
/// as the value rather than as an unknown flag; these checks then say what is allowed.
///
/// ```swift
/// func validate() throws {
///     try NumericOption.seconds(grace, "--grace", minimum: 0)
///     try NumericOption.count(concurrency, "--concurrency", in: 1...WorkerOptions.maxConcurrency)
/// }
/// ```
enum NumericOption {
    /// The longest duration any seconds option takes: a year. Larger values are mistakes, and
    /// beyond ~2.9e5 years the milliseconds would not fit in an Int64.
    static let maximumSeconds: Double = 365 * 24 * 3600

    /// Checks a duration in seconds: finite and between `minimum` and a year.
    /// - throws: `ValidationError`: `--grace must be a number of seconds from 0 to 31536000 (got inf)`.
    static func seconds(_ value: Double, _ option: String, minimum: Double) throws {
        guard value.isFinite, value >= minimum, value <= maximumSeconds else {
            throw ValidationError(
                "\(option) must be a number of seconds from \(text(minimum)) to \(text(maximumSeconds)) (got \(text(value)))")
        }
    }

    /// Checks a whole number against its allowed range.
    /// - throws: `ValidationError`: `--concurrency must be between 1 and 1024 (got 0)`, or
    ///   `--limit must be at least 1 (got -1)` when the range has no useful upper bound.
    static func count(_ value: Int, _ option: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            if range.upperBound == Int.max { throw ValidationError("\(option) must be at least \(range.lowerBound) (got \(value))") }
            throw ValidationError("\(option) must be between \(range.lowerBound) and \(range.upperBound) (got \(value))")
        }
    }

    /// Checks an amount of money: finite and not negative.
    /// - throws: `ValidationError`: `--max-cost-usd must be a number of US dollars ≥ 0 (got nan)`.
    static func dollars(_ value: Double, _ option: String) throws {
        guard value.isFinite, value >= 0 else {
            throw ValidationError("\(option) must be a number of US dollars ≥ 0 (got \(text(value)))")
        }
    }

    /// `10` rather than `10.0`; `inf` and `nan` as typed.
    private static func text(_ value: Double) -> String {
        value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
