import AgentQ
import Logging
import ServiceLifecycle

/// The periodic pass that writes the output files of OpenAI batches whose jobs are all done,
/// so a batch completes even when no client asks about it. Several servers on one home may
/// run it: each batch is finalized once (see ``OpenAIBatchService/finalizeDue(now:)``).
///
/// ```swift
/// services.append(OpenAIBatchFinalizerService(service: service, intervalSeconds: 2, logger: logger))
/// ```
struct OpenAIBatchFinalizerService: Service {
    let service: OpenAIBatchService
    let intervalSeconds: Double
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    _ = try await blocking { try service.finalizeDue() }
                } catch {
                    logger.error("finalizing OpenAI batches: \(error)")
                }
                try? await Task.sleep(for: .milliseconds(Int(intervalSeconds * 1000)))
            }
        }
    }
}
