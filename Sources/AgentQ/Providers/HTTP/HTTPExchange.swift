import AsyncHTTPClient
import Foundation
import JobQueue
import NIOCore
import NIOHTTP1

/// One HTTP request to a provider, awaited without holding a thread: the process's one
/// provider HTTP client (``ProviderHTTPClient``, connection pooling), an overall deadline, an
/// idle timeout for streams, and the job's cancellation token, which aborts the request at once.
enum HTTPExchange {
    struct Response: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        /// The whole body of a non-streamed or failed response.
        var body: Data
    }

    /// Why no response came back.
    enum Failure: Error, CustomStringConvertible {
        case connection(String)
        case timedOut(seconds: Double)
        case stalled(seconds: Double)
        case tooLarge(bytes: Int)

        var description: String {
            switch self {
            case .connection(let reason): return "connection failed: \(reason)"
            case .timedOut(let seconds): return "no complete answer within \(Int(min(seconds, 1e9))) s"
            case .stalled(let seconds): return "the stream stalled: nothing received for \(Int(min(seconds, 1e9))) s"
            case .tooLarge(let bytes): return "the answer passed \(bytes >> 20) MiB; it was not read further"
            }
        }
    }

    /// Error bodies are read up to this size; a provider's error JSON is far smaller.
    static let maxErrorBody = 1 << 20
    /// An answer, streamed or not, is read up to this size: whatever answers at the base URL
    /// cannot fill the worker's memory (a stream without end, a line without a newline).
    static let maxAnswerBody = 64 << 20

    /// Sends `body` and reads the whole response.
    /// - throws: ``Failure``, or ``JobQueue/JobCancelled`` when the token fired.
    static func send(
        url: String, headers: [(String, String)], body: Data, timeoutSeconds: Double, token: CancellationToken
    ) async throws -> Response {
        try await cancellable(token: token, timeoutSeconds: timeoutSeconds) { _ in
            try await ProviderHTTPClient.withClient { client in
                let response = try await execute(client, url: url, headers: headers, body: body, timeoutSeconds: timeoutSeconds)
                let bytes: ByteBuffer
                do {
                    bytes = try await response.body.collect(upTo: maxAnswerBody)
                } catch is NIOTooManyBytesError {
                    throw Failure.tooLarge(bytes: maxAnswerBody)
                }
                return Response(status: Int(response.status.code), headers: Self.headers(of: response), body: Data(bytes.readableBytesView))
            }
        }
    }

    /// Sends `body` and hands each server-sent event of a 2xx answer to `onEvent` as it arrives.
    /// A non-2xx answer is returned with its body instead.
    /// - throws: ``Failure`` (a stall after `idleSeconds` of silence included), whatever
    ///   `onEvent` throws, or ``JobQueue/JobCancelled``.
    static func stream(
        url: String, headers: [(String, String)], body: Data, idleSeconds: Double, timeoutSeconds: Double,
        token: CancellationToken, onEvent: @escaping @Sendable (ServerSentEventParser.Event) throws -> Void
    ) async throws -> Response {
        try await cancellable(token: token, timeoutSeconds: timeoutSeconds) { stop in
            try await ProviderHTTPClient.withClient { client in
                let response = try await execute(client, url: url, headers: headers, body: body, timeoutSeconds: timeoutSeconds)
                let status = Int(response.status.code)
                guard (200..<300).contains(status) else {
                    let bytes = try await response.body.collect(upTo: maxErrorBody)
                    return Response(status: status, headers: Self.headers(of: response), body: Data(bytes.readableBytesView))
                }
                // Read here, in the call's own task, which the watchdog stops when the stream goes silent.
                let activity = StreamWatchdog.Activity()
                let watch = StreamWatchdog.shared.watch(activity, idleSeconds: idleSeconds) {
                    stop.stop(because: .stalled(seconds: idleSeconds))
                }
                defer { StreamWatchdog.shared.unwatch(watch) }
                var parser = ServerSentEventParser()
                var received = 0
                for try await buffer in response.body {
                    activity.touch()
                    received += buffer.readableBytes
                    guard received <= maxAnswerBody else { throw Failure.tooLarge(bytes: maxAnswerBody) }
                    for event in parser.feed(buffer.readableBytesView) { try onEvent(event) }
                }
                if let last = parser.finish() { try onEvent(last) }
                return Response(status: status, headers: Self.headers(of: response), body: Data())
            }
        }
    }

    private static func execute(
        _ client: HTTPClient, url: String, headers: [(String, String)], body: Data, timeoutSeconds: Double
    ) async throws
        -> HTTPClientResponse
    {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        // Capped at a billion seconds: an agent's timeout may be any positive number, and a
        // larger one would not fit the client's nanoseconds.
        return try await client.execute(request, timeout: .milliseconds(Int64(min(timeoutSeconds, 1e9) * 1000)))
    }

    /// The calling task's preferred executor (a worker pool's threads), for the tasks it starts:
    /// they then never wait on Swift's cooperative threads either.
    private static func currentExecutor() -> (any TaskExecutor)? {
        withUnsafeCurrentTask { $0?.unownedTaskExecutor?.asTaskExecutor() }
    }

    private static func headers(of response: HTTPClientResponse) -> [(name: String, value: String)] {
        response.headers.map { ($0.name, $0.value) }
    }

    /// Runs the request as a task of its own, which the token cancels (as does cancelling the
    /// caller's task), which `operation` may stop itself through the ``Stop`` it is given, and
    /// which ends with ``Failure/timedOut(seconds:)`` after `timeoutSeconds`.
    private static func cancellable<T: Sendable>(
        token: CancellationToken, timeoutSeconds: Double, _ operation: @escaping @Sendable (Stop) async throws -> T
    ) async throws -> T {
        let stop = Stop()
        let task = Task(executorPreference: currentExecutor()) { try await operation(stop) }
        stop.attach { task.cancel() }
        // The client's own deadline covers the wait for the answer's head only: this holds the
        // whole call, its body included (a body trickling a byte at a time), to the timeout.
        let deadline = StreamWatchdog.shared.watch(
            StreamWatchdog.Activity(), idleSeconds: .infinity, deadlineSeconds: timeoutSeconds
        ) { stop.stop(because: .timedOut(seconds: timeoutSeconds)) }
        defer { StreamWatchdog.shared.unwatch(deadline) }
        let key = token.onCancel { _ in task.cancel() }
        let result = await withTaskCancellationHandler { await task.result } onCancel: { task.cancel() }
        token.removeCallback(key)
        switch result {
        case .success(let value):
            return value
        case .failure(let error):
            if token.isCancelled { throw JobCancelled() }
            if let reason = stop.reason { throw reason }
            switch error {
            case let failure as Failure: throw failure
            case let clientError as HTTPClientError where clientError == .deadlineExceeded || clientError == .readTimeout:
                throw Failure.timedOut(seconds: timeoutSeconds)
            case let clientError as HTTPClientError:
                throw Failure.connection("\(clientError)")
            default:
                // Errors thrown by onEvent (a malformed chunk) pass through unchanged.
                if error is ProviderError { throw error }
                throw Failure.connection(String(describing: error))
            }
        }
    }
}

extension HTTPExchange {
    /// Lets a call's operation stop its own task with a reason (a stream that went silent),
    /// which the call then throws instead of the cancellation it caused.
    final class Stop: @unchecked Sendable {
        private let lock = NSLock()
        private var cancelTask: (@Sendable () -> Void)?
        private var stoppedBecause: Failure?

        /// Why the call was stopped, if it was.
        var reason: Failure? {
            lock.lock()
            defer { lock.unlock() }
            return stoppedBecause
        }

        /// Cancels the call's task (at once, or as soon as it is attached).
        func stop(because reason: Failure) {
            lock.lock()
            stoppedBecause = reason
            let cancel = cancelTask
            lock.unlock()
            cancel?()
        }

        fileprivate func attach(_ cancel: @escaping @Sendable () -> Void) {
            lock.lock()
            cancelTask = cancel
            let stopped = stoppedBecause != nil
            lock.unlock()
            if stopped { cancel() }
        }
    }
}
