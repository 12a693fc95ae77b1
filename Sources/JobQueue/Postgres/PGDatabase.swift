import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// One PostgreSQL database shared by every agentq process on every host: a small pool of
/// connections used synchronously from Dispatch threads, transactions, versioned migrations
/// applied under an advisory lock, the database's clock, and LISTEN/NOTIFY.
///
/// Each layer brings its own ``PGMigration`` list, as with ``SQLiteDatabase``; several hosts
/// starting at once apply each migration once (the first takes the advisory lock, the others
/// wait for it and find the work done).
///
/// ```swift
/// let database = try PGDatabase(location: PostgresLocation(url: url), migrations: PostgresJobStore.migrations)
/// let count = try database.read { try $0.scalar("SELECT count(*) FROM jobs", as: Int64.self) }
/// ```
/// - throws: ``StoreError``: `.cannotOpen` when the server cannot be reached or refuses the
///   user, `.schemaTooNew` for a database written by a newer agentq.
public final class PGDatabase: @unchecked Sendable {
    public let location: PostgresLocation
    /// How many connections this process opens at most; callers beyond wait for one.
    public let maximumConnections: Int
    private let configuration: PostgresConnection.Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let lock = NSCondition()
    private var idle: [PGConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false
    /// Database clock minus this host's clock, in milliseconds (see ``databaseTime(for:)``).
    private var offset: Int64 = 0
    private var offsetMeasuredAt: Timestamp?
    private let listener: PGListener
    /// This host's clock (a skewed one in tests of clock skew between hosts).
    private let clock: any TimeSource

    /// The advisory lock key migrations run under (any constant the product owns).
    static let migrationLockKey: Int64 = 0x6167_656E_7471   // "agentq"

    /// How often the clock offset is measured again.
    static let clockRefreshMilliseconds: Int64 = 10_000

    /// - parameter migrations: applied in order, each once; none for a database agentq does not own.
    /// - parameter maximumConnections: nil reads `AGENTQ_DATABASE_CONNECTIONS`, else 16.
    /// - parameter clock: this host's clock, which ``databaseTime(for:)`` maps onto the database's.
    public init(location: PostgresLocation, migrations: [PGMigration], maximumConnections: Int? = nil,
                clock: any TimeSource = SystemTimeSource()) throws {
        self.location = location
        self.clock = clock
        self.maximumConnections = max(1, maximumConnections
            ?? ProcessInfo.processInfo.environment["AGENTQ_DATABASE_CONNECTIONS"].flatMap(Int.init) ?? 16)
        var logger = Logger(label: "agentq.postgres")
        logger.logLevel = .critical
        self.logger = logger
        group = MultiThreadedEventLoopGroup.singleton
        var configuration: PostgresConnection.Configuration
        if let directory = location.socketDirectory {
            configuration = .init(unixSocketPath: "\(directory)/.s.PGSQL.\(location.port)", username: location.user,
                                  password: location.password, database: location.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS
            switch location.sslMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try Self.tlsContext(location, verify: false))
            case .require: tls = .require(try Self.tlsContext(location, verify: false))
            case .verifyFull: tls = .require(try Self.tlsContext(location, verify: true))
            }
            configuration = .init(host: location.host, port: location.port, username: location.user,
                                  password: location.password, database: location.database, tls: tls)
        }
        configuration.options.connectTimeout = .seconds(10)
        self.configuration = configuration
        listener = PGListener(location: location, configuration: configuration, group: group, logger: logger)
        do {
            if !migrations.isEmpty { try migrate(migrations) }
            try measureClock()
        } catch let error as StoreError where error.code == .io {
            close()
            throw StoreError(.cannotOpen, "cannot reach PostgreSQL at \(location): \(error.message)")
        } catch {
            // Closed here: postgres-nio asserts that no connection is dropped unclosed.
            close()
            throw error
        }
    }

    deinit { close() }

    /// `prefer` and `require` encrypt without checking the certificate, as libpq does (stock
    /// servers have a self-signed one); `verify-full` checks the chain and the host name.
    private static func tlsContext(_ location: PostgresLocation, verify: Bool) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if !verify { configuration.certificateVerification = .none }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw StoreError(.cannotOpen, "\(location): cannot set up TLS: \(error)")
        }
    }

    /// Runs `body` on a connection of its own, outside any transaction (each statement commits).
    /// - throws: ``StoreError``, or what `body` throws.
    public func read<T>(_ body: (PGConnection) throws -> T) throws -> T {
        let connection = try checkOut()
        defer { checkIn(connection) }
        return try body(connection)
    }

    /// Runs `body` in one transaction (READ COMMITTED), committed when it returns and rolled
    /// back when it throws. A serialization failure or deadlock runs it again, up to 5 times,
    /// when `retrying` (pass false when `body` consumes input it cannot read twice).
    /// - throws: ``StoreError``, or what `body` throws.
    @discardableResult
    public func write<T>(retrying: Bool = true, _ body: (PGConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try checkOut()
            defer { checkIn(connection) }
            do {
                try connection.run(script: "BEGIN")
                let value = try body(connection)
                try connection.run(script: "COMMIT")
                return value
            } catch {
                if !connection.isBroken { try? connection.run(script: "ROLLBACK") }
                if retrying, attempt < 5, let storeError = error as? StoreError, storeError.code == .busy {
                    usleep(useconds_t(1000 * attempt * attempt))
                    continue
                }
                throw error
            }
        }
    }

    /// The database's time when this host's clock reads `hostTime`.
    ///
    /// Leases, heartbeats and rescues compare times written by different hosts, so every store
    /// turns the caller's time into the database's: a host whose clock is minutes off then
    /// neither expires a live lease of another nor keeps a dead one alive. The offset is
    /// measured against `clock_timestamp()` at open and again every ten seconds.
    public func databaseTime(for hostTime: Timestamp) -> Timestamp {
        lock.lock()
        let stale = offsetMeasuredAt.map { clock.now().milliseconds - $0.milliseconds > Self.clockRefreshMilliseconds } ?? true
        let current = offset
        lock.unlock()
        if stale { try? measureClock() }
        lock.lock()
        defer { lock.unlock() }
        return hostTime.adding(milliseconds: stale ? offset : current)
    }

    /// Measures the offset again. It changes only when the new measurement differs from the
    /// current offset by more than the measurement's own uncertainty (half the round trip, plus
    /// the rounding of its readings): a host on the database's clock keeps an offset of exactly 0,
    /// and times written a moment apart never jitter against each other by a millisecond.
    private func measureClock() throws {
        let before = clock.now()
        let server = try read { try $0.scalar(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint", as: Int64.self) } ?? before.milliseconds
        let after = clock.now()
        let measured = server - (before.milliseconds + after.milliseconds) / 2
        // Half the round trip, plus the rounding of three millisecond readings (the server's
        // rounded, ours truncated): on one machine a measurement is off by up to 2 ms.
        let uncertainty = (after.milliseconds - before.milliseconds) / 2 + 3
        lock.lock()
        if abs(measured - offset) > uncertainty { offset = measured }
        offsetMeasuredAt = after
        lock.unlock()
    }

    /// Sends `payload` to every listener of `channel` in every process, once the caller's
    /// transaction commits (or at once outside one). Lossy like every wake-up: never throws.
    public func notify(_ channel: String, payload: String = "", on connection: PGConnection? = nil) {
        if let connection {
            _ = try? connection.execute("SELECT pg_notify(\(channel), \(payload))")
        } else {
            _ = try? read { try $0.execute("SELECT pg_notify(\(channel), \(payload))") }
        }
    }

    /// Calls `handler` (on a Dispatch queue) with the payload of each notification on `channel`
    /// until the returned function is called. A lost connection is opened again; what was sent
    /// meanwhile is lost, which the callers' polls cover.
    /// - throws: ``StoreError`` when the first connection cannot be made.
    public func listen(_ channel: String, _ handler: @escaping @Sendable (String) -> Void) throws -> @Sendable () -> Void {
        try listener.add(channel: channel, handler: handler)
    }

    /// Closes every connection; later calls fail.
    public func close() {
        lock.lock()
        closed = true
        let connections = idle
        idle = []
        lock.unlock()
        for connection in connections { _ = try? connection.closeFuture().wait() }
        listener.close()
    }

    private func checkOut() throws -> PGConnection {
        lock.lock()
        while true {
            if closed {
                lock.unlock()
                throw StoreError(.io, "\(location): the database was closed")
            }
            if let connection = idle.popLast() {
                lock.unlock()
                Self.heldByThisThread += 1
                return connection
            }
            // A thread that already holds a connection (a store call inside another's
            // transaction, the clock measured inside a write) never waits for one: with every
            // connection held that way, waiting would deadlock the process.
            if open < maximumConnections || Self.heldByThisThread > 0 { break }
            lock.wait()
        }
        open += 1
        nextID += 1
        let id = nextID
        lock.unlock()
        do {
            let connection = try PostgresConnection.connect(
                on: group.next(), configuration: configuration, id: id, logger: logger).wait()
            Self.heldByThisThread += 1
            return PGConnection(connection: connection, location: location, logger: logger)
        } catch {
            lock.lock()
            open -= 1
            lock.signal()
            lock.unlock()
            if let error = error as? PSQLError { throw StoreError(postgres: error, location: location) }
            throw StoreError(.io, "\(location): cannot connect: \(error)")
        }
    }

    /// How many connections the calling thread holds (of any ``PGDatabase``).
    private static var heldByThisThread: Int {
        get { Thread.current.threadDictionary["agentq.postgres.held"] as? Int ?? 0 }
        set { Thread.current.threadDictionary["agentq.postgres.held"] = newValue }
    }

    private func checkIn(_ connection: PGConnection) {
        Self.heldByThisThread -= 1
        lock.lock()
        if connection.isBroken || connection.connection.isClosed || closed {
            open -= 1
            lock.signal()
            lock.unlock()
            // Waited for: postgres-nio asserts that a connection is closed before it is freed.
            _ = try? connection.closeFuture().wait()
            return
        }
        idle.append(connection)
        lock.signal()
        lock.unlock()
    }

    private func migrate(_ migrations: [PGMigration]) throws {
        try write(retrying: false) { connection in
            // Every host that starts at once waits here for the first to finish.
            try connection.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))")
            try connection.run(script: """
                CREATE TABLE IF NOT EXISTS agentq_schema_migrations (
                    name text PRIMARY KEY, applied_at bigint NOT NULL)
                """)
            let applied = Set(try connection.query("SELECT name FROM agentq_schema_migrations")
                .map { try $0.decode(String.self) })
            if let unknown = applied.subtracting(migrations.map(\.name)).min() {
                throw StoreError(
                    .schemaTooNew,
                    "\(location) was written by a newer agentq (it has the schema change '\(unknown)', unknown to this one): "
                        + "upgrade agentq on this host")
            }
            for migration in migrations where !applied.contains(migration.name) {
                try connection.run(script: migration.sql)
                try connection.execute(
                    "INSERT INTO agentq_schema_migrations (name, applied_at) VALUES (\(migration.name), \(Timestamp.now.milliseconds))")
            }
        }
    }
}
