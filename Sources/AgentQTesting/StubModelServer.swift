import AgentQ
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// An OpenAI-compatible model server on a loopback port that answers every
/// `POST …/chat/completions` after a fixed delay, holding no thread while it waits: the
/// stand-in for a provider's latency when measuring how many calls agentq keeps in flight.
///
/// It answers `echo: <last user message>` (streamed with SSE when the request asks for it),
/// counts the requests and remembers the most that were open at once.
///
/// ```swift
/// let server = try StubModelServer(delayMilliseconds: 1000)
/// // agent: {"provider": "openai", "base_url": server.baseURL, "model": "stub"}
/// print(server.mostInFlight)
/// try server.stop()
/// ```
public final class StubModelServer: @unchecked Sendable {
    public let port: Int
    public let delayMilliseconds: Int64
    private let channel: any Channel
    private let counters = InFlightCounter()

    /// - parameter requested: the loopback port to listen on; 0 (the default) picks a free one.
    /// - throws: when the port cannot be bound.
    public init(delayMilliseconds: Int64, port requested: Int = 0) throws {
        self.delayMilliseconds = delayMilliseconds
        let counters = self.counters
        let delay = delayMilliseconds
        channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(delayMilliseconds: delay, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: requested).wait()
        port = channel.localAddress?.port ?? 0
    }

    /// The base URL an OpenAI agent points at.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// Requests answered so far.
    public var answered: Int { counters.finished }
    /// The most requests that were waiting for their answer at the same time.
    public var mostInFlight: Int { counters.most }

    public func stop() throws {
        try channel.close().wait()
    }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let delayMilliseconds: Int64
        let counters: InFlightCounter
        var body = ByteBuffer()

        init(delayMilliseconds: Int64, counters: InFlightCounter) {
            self.delayMilliseconds = delayMilliseconds
            self.counters = counters
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                body.clear()
            case .body(var chunk):
                body.writeBuffer(&chunk)
            case .end:
                counters.enter()
                let request = body.readString(length: body.readableBytes) ?? ""
                let loop = context.eventLoop
                let boundContext = NIOLoopBound(context, eventLoop: loop)
                loop.scheduleTask(in: .milliseconds(delayMilliseconds)) { [self] in
                    respond(context: boundContext.value, to: request)
                    counters.leave()
                }
            }
        }

        /// The fields of a chat request the stub reads.
        private struct ChatRequest: Decodable {
            struct Message: Decodable {
                var role: String
                var content: String?

                init(from decoder: any Decoder) throws {
                    let container = try decoder.container(keyedBy: CodingKeys.self)
                    role = try container.decode(String.self, forKey: .role)
                    // Content given as parts (not a plain string) reads as empty.
                    content = try? container.decodeIfPresent(String.self, forKey: .content)
                }

                enum CodingKeys: String, CodingKey { case role, content }
            }

            var messages: [Message] = []
            var stream: Bool?
        }

        /// Written without JSONSerialization, which cost more CPU per request than agentq's
        /// own side of the call and so, on a small machine, slowed the very figure the stub
        /// is there to measure.
        private func respond(context: ChannelHandlerContext, to request: String) {
            let parsed = try? JSONDecoder().decode(ChatRequest.self, from: Data(request.utf8))
            let last = parsed?.messages.last(where: { $0.role == "user" })?.content ?? ""
            let answer = JSONText.quoted("echo: " + last)
            let text: String
            var headers = HTTPHeaders()
            if parsed?.stream ?? false {
                headers.add(name: "content-type", value: "text/event-stream")
                text = #"data: {"choices":[{"delta":{"content":\#(answer),"role":"assistant"},"index":0}]}"# + "\n\n"
                    + #"data: {"choices":[{"delta":{},"finish_reason":"stop","index":0}]}"# + "\n\n"
                    + #"data: {"choices":[],"usage":{"completion_tokens":3,"prompt_tokens":3}}"# + "\n\n"
                    + "data: [DONE]\n\n"
            } else {
                headers.add(name: "content-type", value: "application/json")
                text = #"{"choices":[{"finish_reason":"stop","index":0,"message":{"content":\#(answer),"role":"assistant"}}],"#
                    + #""id":"stub","object":"chat.completion","usage":{"completion_tokens":3,"prompt_tokens":3}}"#
            }
            headers.add(name: "content-length", value: "\(text.utf8.count)")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
