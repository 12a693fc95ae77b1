import AgentQ
import CoreMetrics
import Foundation
import JobQueue
import Prometheus

/// The Prometheus side of agentq's metrics: the registry the swift-metrics API writes to in
/// this process, and the gauges read from the home at scrape time.
///
/// The engine and the providers only know swift-metrics; ``bootstrap()`` points it at this
/// registry, once per process, before the worker runs anything.
///
/// ```swift
/// ServerMetrics.bootstrap()
/// let text = try ServerMetrics.scrape(queue: queue)   // the Prometheus text format
/// ```
public enum ServerMetrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Run times from a millisecond (the engine's own jobs) to ten minutes (a long agent turn).
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
        .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
    ]

    /// Swift's lazy static initialisation makes this run once, whoever calls first.
    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = durationBuckets
        MetricsSystem.bootstrap(factory)
        QueueMetrics.prepare()
        TurnMetrics.prepare()
    }()

    /// Makes swift-metrics report to ``registry``; later calls do nothing.
    public static func bootstrap() { bootstrapped }

    private static let jobGauges: [(JobStatus, Prometheus.Gauge)] = JobStatus.allCases.map {
        ($0, registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "agentq_jobs", unitName: "", helpText: "Jobs in the home's queue, by status"),
            labels: [("status", $0.rawValue)]))
    }

    private static let sessionGauges: [(SessionStatus, Prometheus.Gauge)] = SessionStatus.allCases.map {
        ($0, registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "agentq_sessions", unitName: "", helpText: "Sessions on the home, by status"),
            labels: [("status", $0.rawValue)]))
    }

    /// Reads jobs and sessions by status from the home (every process's, not only this one's)
    /// and returns every metric in the Prometheus text format.
    /// - throws: a ``JobQueue/StoreError`` when the database cannot be read.
    public static func scrape(queue: AgentQueue) throws -> [UInt8] {
        let jobs = try queue.store.counts(batchID: nil)
        let sessions = try queue.sessions.countsByStatus()
        for (status, gauge) in jobGauges { gauge.set(Int64(jobs[status])) }
        for (status, gauge) in sessionGauges { gauge.set(Int64(sessions[status] ?? 0)) }
        return registry.emitToBuffer()
    }
}
