import Foundation

/// Where a PostgreSQL queue lives, read from a `postgres://` URL.
///
/// The password stays in memory only: ``description`` (what errors, logs and `agentq stats`
/// print) never shows it.
///
/// ```swift
/// let location = try PostgresLocation(url: "postgres://agentq:s3cret@db.internal:5432/agentq")
/// print(location)   // postgres://agentq@db.internal:5432/agentq
/// ```
/// - throws: ``StoreError`` `.cannotOpen` naming what is wrong with the URL (never its password).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    /// `sslmode=require`: refuse to talk without TLS; `verify-full` (or `verify-ca`) also
    /// checks the server's certificate and name. `prefer` (the default, as in libpq) uses TLS
    /// when the server offers it; `disable` never does.
    public var sslMode: SSLMode
    /// A directory holding the server's Unix socket (`?host=/run/postgresql`), instead of TCP.
    public var socketDirectory: String?

    public enum SSLMode: String, Sendable, Hashable { case disable, prefer, require, verifyFull = "verify-full" }

    public init(url: String) throws {
        let bad = { (why: String) in
            StoreError(.cannotOpen, "invalid database URL \(Self.redact(url)): \(why) "
                + "(expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)")
        }
        guard let components = URLComponents(string: url) else { throw bad("not a URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw bad("the scheme must be postgres:// or postgresql://")
        }
        var host = components.host ?? ""
        var socketDirectory: String?
        var sslMode = SSLMode.prefer
        var password = components.password
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                switch item.value ?? "" {
                case "disable", "allow": sslMode = .disable
                case "prefer": sslMode = .prefer
                case "require": sslMode = .require
                case "verify-ca", "verify-full": sslMode = .verifyFull
                default: throw bad("unknown sslmode '\(item.value ?? "")'")
                }
            case "password":
                password = item.value
            case "host":
                guard let value = item.value, value.hasPrefix("/") else { throw bad("?host= must be a socket directory") }
                socketDirectory = value
            default:
                throw bad("unknown parameter '\(item.name)'")
            }
        }
        if host.isEmpty && socketDirectory == nil { host = "localhost" }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("the database name is missing") }
        guard let user = components.user, !user.isEmpty else { throw bad("the user name is missing") }
        self.host = host
        self.port = components.port ?? 5432
        // URLComponents has already decoded user and password (%40 is @): not twice.
        self.user = user
        self.password = password
        self.database = database.removingPercentEncoding ?? database
        self.sslMode = sslMode
        self.socketDirectory = socketDirectory
    }

    /// The URL without its password: safe to print.
    public var description: String {
        let place = socketDirectory.map { "?host=\($0)" } ?? ""
        return "postgres://\(user)@\(host.isEmpty ? "" : host):\(port)/\(database)\(place)"
    }

    /// `url` without its query (which may hold `password=`) and with any password in it
    /// replaced, for an error about a URL that does not parse.
    static func redact(_ url: String) -> String {
        let base = url.firstIndex(of: "?").map { String(url[..<$0]) + "?…" } ?? url
        // The last @ ends the credentials: a password may hold an @ of its own.
        guard let at = base.range(of: "@", options: .backwards), let scheme = base.range(of: "://"),
            scheme.upperBound < at.lowerBound
        else { return base.contains("@") ? "(unprintable URL)" : base }
        let credentials = base[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return base }
        return String(base[..<colon]) + ":***" + String(base[at.lowerBound...])
    }
}
