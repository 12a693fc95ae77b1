import Dispatch
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// The one connection per process that LISTENs, shared by every channel a ``PGDatabase``
/// listens on; opened on first use and opened again (with its channels) when it drops.
final class PGListener: @unchecked Sendable {
    private let location: PostgresLocation
    private let configuration: PostgresConnection.Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let lock = NSLock()
    private var connection: PostgresConnection?
    private var handlers: [Int: (channel: String, handler: @Sendable (String) -> Void)] = [:]
    private var nextID = 0
    private var closed = false
    private let delivery = DispatchQueue(label: "agentq.postgres.notify", attributes: .concurrent)

    init(location: PostgresLocation, configuration: PostgresConnection.Configuration, group: any EventLoopGroup,
         logger: Logger) {
        self.location = location
        self.configuration = configuration
        self.group = group
        self.logger = logger
    }

    func add(channel: String, handler: @escaping @Sendable (String) -> Void) throws -> @Sendable () -> Void {
        lock.lock()
        nextID += 1
        let id = nextID
        let needsListen = !handlers.values.contains { $0.channel == channel }
        handlers[id] = (channel, handler)
        let existing = connection
        lock.unlock()
        if let existing {
            if needsListen { try listen(channel, on: existing) }
        } else {
            do { try connect() } catch {
                // Until it connects the callers rely on their poll; keep trying meanwhile.
                reconnectLater()
                throw error
            }
        }
        return { [weak self] in
            guard let self else { return }
            self.lock.lock()
            self.handlers[id] = nil
            self.lock.unlock()
        }
    }

    func close() {
        lock.lock()
        closed = true
        let connection = self.connection
        self.connection = nil
        lock.unlock()
        if let connection { _ = try? Self.close(connection).wait() }
    }

    private static func close(_ connection: PostgresConnection) -> EventLoopFuture<Void> {
        let future: EventLoopFuture<Void> = connection.close()
        return future
    }

    private func connect() throws {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 0, logger: logger).wait()
        } catch let error as PSQLError {
            throw StoreError(postgres: error, location: location)
        }
        lock.lock()
        if closed || self.connection != nil {
            lock.unlock()
            _ = Self.close(connection)
            return
        }
        self.connection = connection
        let channels = Set(handlers.values.map(\.channel))
        lock.unlock()
        connection.closeFuture.whenComplete { [weak self] _ in self?.reconnectLater() }
        for channel in channels { try listen(channel, on: connection) }
    }

    private func listen(_ channel: String, on connection: PostgresConnection) throws {
        connection.addListener(channel: channel) { [weak self] _, notification in
            self?.deliver(channel: notification.channel, payload: notification.payload)
        }
        // Channel names are the product's own constants, quoted as identifiers.
        let quoted = "\"" + channel.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        do {
            _ = try connection.simpleQuery("LISTEN \(quoted)").wait()
        } catch let error as PSQLError {
            throw StoreError(postgres: error, location: location)
        }
    }

    private func deliver(channel: String, payload: String) {
        lock.lock()
        let targets = handlers.values.filter { $0.channel == channel }.map(\.handler)
        lock.unlock()
        for handler in targets { delivery.async { handler(payload) } }
    }

    private func reconnectLater() {
        lock.lock()
        connection = nil
        let wanted = !closed && !handlers.isEmpty
        lock.unlock()
        guard wanted else { return }
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { [weak self] in
            guard let self else { return }
            do { try self.connect() } catch { self.reconnectLater() }
        }
    }
}
