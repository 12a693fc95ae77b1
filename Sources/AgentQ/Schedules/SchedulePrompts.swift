/// What a schedule submits each time it fires, stored when it is added.
///
/// ```swift
/// let prompts = SchedulePrompts.file(name: "nightly.jsonl", content: try String(contentsOfFile: "nightly.jsonl"))
/// ```
public enum SchedulePrompts: Sendable, Hashable {
    /// One job with this input.
    case input(String)
    /// A bulk prompt file's content, as it was when the schedule was added; `file` is its name,
    /// for messages.
    case file(name: String, content: String)
}
