import JobQueue

/// The JSON of `agentq prune --json` and `agentq stats --json`: one place for their field
/// names, so the CLI prints documents and never builds JSON by hand.
///
/// ```swift
/// Terminal.out(RetentionDocument.json(for: try retention.stats()))
/// // {"database":{"file_bytes":…,"free_pages":…},"jobs":{"queued":0,…},…}
/// ```
public enum RetentionDocument {
    /// `{"dry_run":false,"jobs":{"jobs":…,"attempt_errors":…,"batches":…,"bytes":…},"sessions":…,
    /// "result_files":…,"result_bytes":…,"database_bytes_freed":…,"largest_write_hold_ms":…}`
    public static func json(for report: RetentionReport) -> String {
        var text = JSONText()
        text.object { write(report, into: &$0) }
        return text.text
    }

    /// `{"database":{…},"jobs":{"queued":…},"batches":…,"oldest_finished_at":…,"sessions":{…},
    /// "result_files":…,"result_bytes":…,"retention":{"finished":"14d",…,"would_remove":{…}}}`
    public static func json(for stats: HomeStats) -> String {
        var text = JSONText()
        text.object { root in
            root.field("database", object: {
                $0.field("file_bytes", Int(stats.database.fileBytes))
                $0.field("wal_bytes", Int(stats.database.walBytes))
                $0.field("page_size", stats.database.pageSize)
                $0.field("pages", stats.database.pageCount)
                $0.field("free_pages", stats.database.freePages)
                $0.field("incremental_vacuum", raw: stats.database.incrementalVacuum ? "true" : "false")
            })
            root.field("jobs", object: { object in
                for status in JobStatus.allCases { object.field(status.rawValue, stats.store.counts[status]) }
            })
            root.field("batches", stats.store.batches)
            root.field("oldest_finished_at", stats.store.oldestFinishedAt?.iso8601)
            root.field("sessions", object: { object in
                for status in SessionStatus.allCases { object.field(status.rawValue, stats.sessions[status] ?? 0) }
            })
            root.field("result_files", stats.resultFiles)
            root.field("result_bytes", Int(stats.resultBytes))
            root.field("retention", object: { object in
                for key in RetentionPolicy.Key.allCases {
                    object.field(String(key.rawValue.dropFirst("retention.".count)), stats.policy[key]?.text)
                }
                object.field("last_run_at", stats.policyLastRunAt?.iso8601)
                if let would = stats.policyWouldRemove {
                    object.field("would_remove", object: { write(would, into: &$0) })
                } else {
                    object.field("would_remove", raw: nil)
                }
            })
        }
        return text.text
    }

    private static func write(_ report: RetentionReport, into object: inout JSONText) {
        object.field("dry_run", raw: report.dryRun ? "true" : "false")
        if let jobs = report.jobs {
            object.field("jobs", object: {
                $0.field("jobs", jobs.jobs)
                $0.field("attempt_errors", jobs.attemptErrors)
                $0.field("batches", jobs.batches)
                $0.field("bytes", Int(jobs.bytes))
            })
        } else {
            object.field("jobs", raw: nil)
        }
        if let sessions = report.sessions {
            object.field("sessions", object: {
                $0.field("sessions", sessions.sessions)
                $0.field("messages", sessions.messages)
                $0.field("bytes", Int(sessions.bytes))
            })
        } else {
            object.field("sessions", raw: nil)
        }
        object.field("result_files", report.resultFiles)
        object.field("result_bytes", Int(report.resultBytes))
        object.field("database_bytes_freed", Int(report.databaseBytesFreed))
        object.field("largest_write_hold_ms", (report.largestWriteHoldMilliseconds * 10).rounded() / 10)
    }
}
