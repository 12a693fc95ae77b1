import AgentQ

/// Human lines for transcript messages: `You > …`, tool calls, `Agent > …`.
enum TranscriptPrinter {
    static func lines(_ messages: [SessionMessage]) -> [String] {
        var lines: [String] = []
        for entry in messages {
            let message = entry.message
            switch message.role {
            case .user:
                lines.append("You > \(message.content)")
            case .assistant:
                for call in message.toolCalls { lines.append("  → \(call.name) \(call.arguments)") }
                if !message.content.isEmpty { lines.append("Agent > \(message.content)") }
            case .tool:
                let first = message.content.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                let shown = first.count > 100 ? String(first.prefix(100)) + "…" : first
                lines.append("  ← \(message.toolName ?? "tool")\(message.isError ? " (error)" : ""): \(shown)")
            case .system:
                lines.append("System > \(message.content)")
            }
        }
        return lines
    }
}
