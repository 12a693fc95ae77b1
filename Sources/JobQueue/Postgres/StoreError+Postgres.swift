import PostgresNIO

extension StoreError {
    /// The ``StoreError`` for an error of the PostgreSQL driver: the server's own sentence and
    /// SQLSTATE for what it refused, `.io` (transient: the worker keeps its jobs and tries
    /// again) when the connection broke. Never the query's values or the password.
    ///
    /// ```swift
    /// catch let error as PSQLError { throw StoreError(postgres: error, location: location) }
    /// ```
    public init(postgres error: PSQLError, location: PostgresLocation) {
        if let info = error.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "error"
            let detail = "\(location): \(message) (SQLSTATE \(state))"
            switch state {
            // serialization failure, deadlock, lock timeout, too many connections, shutting down
            case "40001", "40P01", "55P03", "53300", "57P01", "57P02", "57P03": self.init(.busy, detail)
            case "53100": self.init(.diskFull, "\(detail): the database server's disk is full")
            case "25006": self.init(.readOnly, "\(detail): the server is read-only (a standby?)")
            case "28P01", "28000": self.init(.cannotOpen, "\(location): \(message): check the user and password")
            case "3D000": self.init(.cannotOpen, "\(location): \(message): create it first (createdb \(location.database))")
            case let code where code.hasPrefix("08"): self.init(.io, detail)
            default: self.init(.database, detail)
            }
            return
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            self.init(.io, "\(location): the connection to PostgreSQL failed or was lost (\(error.code))")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            self.init(.cannotOpen, "\(location): PostgreSQL refused to authenticate (\(error.code)): check the password")
        case .sslUnsupported:
            self.init(.cannotOpen, "\(location): the server does not offer TLS, and sslmode=require asks for it")
        default:
            self.init(.database, "\(location): \(error.code)")
        }
    }
}
