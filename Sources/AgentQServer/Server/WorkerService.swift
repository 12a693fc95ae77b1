import AgentQ
import Foundation
import JobQueue
import ServiceLifecycle

/// The worker pool of `agentq serve`, run as a service beside the HTTP server.
///
/// It is the last to stop: the server first stops accepting and finishes its requests (whose
/// turns this pool may be running), then the pool gets its grace period and requeues what is
/// left, as `agentq worker` does on SIGTERM.
struct WorkerService: Service {
    let queue: AgentQueue
    let options: WorkerOptions
    let graceSeconds: Double

    func run() async throws {
        let pool = queue.makeWorker(options)
        let grace = Int64(graceSeconds * 1000)
        try await withGracefulShutdownHandler {
            try await withTaskCancellationHandler {
                try await runUntilStopped(pool)
            } onCancel: {
                // The group gave up waiting for the server to drain (see AgentQServer.run): the
                // pool still gets its grace period, then requeues what is left.
                pool.shutdown(graceMilliseconds: grace)
            }
        } onGracefulShutdown: {
            pool.shutdown(graceMilliseconds: grace)
        }
    }

    private func runUntilStopped(_ pool: WorkerPool) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            // The pool blocks its caller until it stops: a thread of its own, not the cooperative pool's.
            let thread = Thread {
                do {
                    _ = try pool.run()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            thread.name = "agentq.worker"
            thread.start()
        }
    }
}
