import CoreMetrics
import Foundation

/// The metrics of one provider endpoint: model requests sent, in-call retries and 429s,
/// labelled `endpoint` with the base URL's host (and port when it names one) — never its
/// path, user, key or query.
///
/// One set per endpoint, made the first time a call goes there and kept: a model call looks
/// it up once, not per request.
///
/// ```swift
/// let metrics = ProviderMetrics.forEndpoint("https://api.openai.com/v1")
/// metrics.requests.increment()   // agentq_provider_requests_total{endpoint="api.openai.com"}
/// ```
public final class ProviderMetrics: Sendable {
    private static let registry = Locked<[String: ProviderMetrics]>([:])

    /// The label value: `host` or `host:port`.
    public let endpoint: String
    /// `agentq_provider_requests_total{endpoint}`: HTTP requests sent, retries included.
    public let requests: Counter
    /// `agentq_provider_retries_total{endpoint}`: failed requests tried again within the call.
    public let retries: Counter
    /// `agentq_provider_rate_limited_total{endpoint}`: answers with HTTP 429.
    public let rateLimited: Counter

    private init(endpoint: String) {
        self.endpoint = endpoint
        let dimensions = [("endpoint", endpoint)]
        requests = Counter(label: "agentq_provider_requests_total", dimensions: dimensions)
        retries = Counter(label: "agentq_provider_retries_total", dimensions: dimensions)
        rateLimited = Counter(label: "agentq_provider_rate_limited_total", dimensions: dimensions)
    }

    /// The metrics of the endpoint a base URL names.
    public static func forEndpoint(_ baseURL: String) -> ProviderMetrics {
        // By the base URL as written first, so a call does not parse it again.
        byBaseURL.value(for: baseURL, limit: 256) {
            let key = endpointLabel(baseURL)
            return registry.value(for: key) { ProviderMetrics(endpoint: key) }
        }
    }

    private static let byBaseURL = Locked<[String: ProviderMetrics]>([:])

    /// `host[:port]` of a base URL, lower-cased.
    ///
    /// ```swift
    /// ProviderMetrics.endpointLabel("https://u:pw@API.example.com:8443/v1?key=sk")   // "api.example.com:8443"
    /// ```
    public static func endpointLabel(_ baseURL: String) -> String {
        guard let components = URLComponents(string: baseURL), let host = components.host, !host.isEmpty else { return "invalid-url" }
        return host.lowercased() + (components.port.map { ":\($0)" } ?? "")
    }
}
