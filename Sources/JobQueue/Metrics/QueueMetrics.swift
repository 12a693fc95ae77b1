import CoreMetrics

/// The engine's metrics, through the swift-metrics API: claims, job run times, retries and
/// rescues. Whoever runs the process picks the backend (`agentq serve` bootstraps Prometheus;
/// without a bootstrap they cost a no-op call).
///
/// Each metric object is made once, on first use, and shared: the worker's hot path never
/// looks one up. The backend must therefore be bootstrapped before the first job runs.
///
/// ```swift
/// QueueMetrics.claims.increment(by: claimed.count)
/// QueueMetrics.jobDuration(.succeeded).recordNanoseconds(elapsed)
/// ```
public enum QueueMetrics {
    /// How a run of a job ended, the `outcome` label of ``jobDuration(_:)``.
    public enum Outcome: String, CaseIterable, Sendable {
        case succeeded, failed, cancelled, retried, requeued

        /// The position in `allCases`, without a search.
        var index: Int {
            switch self {
            case .succeeded: return 0
            case .failed: return 1
            case .cancelled: return 2
            case .retried: return 3
            case .requeued: return 4
            }
        }
    }

    /// `agentq_job_claims_total`: jobs claimed by this process's workers (a job retried or
    /// rescued is claimed again).
    public static let claims = Counter(label: "agentq_job_claims_total")
    /// `agentq_job_retries_total`: failed runs put back in the queue for another attempt.
    public static let retries = Counter(label: "agentq_job_retries_total")
    /// `agentq_jobs_rescued_total`: running jobs whose worker stopped renewing its lease, requeued.
    public static let rescued = Counter(label: "agentq_jobs_rescued_total")

    private static let durations: [Timer] = Outcome.allCases.map {
        Timer(label: "agentq_job_duration_seconds", dimensions: [("outcome", $0.rawValue)])
    }

    /// `agentq_job_duration_seconds{outcome}`: how long one run of a job took in the handler,
    /// by how it ended (a histogram with the Prometheus backend).
    public static func jobDuration(_ outcome: Outcome) -> Timer {
        durations[outcome.index]
    }

    /// The duration histogram of a run that ended so.
    static func jobDuration(for resolution: JobOutcome.Resolution) -> Timer {
        switch resolution {
        case .succeeded: return durations[0]
        case .failed: return durations[1]
        case .cancelled: return durations[2]
        case .retry: return durations[3]
        case .requeue: return durations[4]
        }
    }

    /// Makes every metric now, so a scrape shows them at zero before the first job.
    public static func prepare() {
        _ = (claims, retries, rescued, durations)
    }
}
