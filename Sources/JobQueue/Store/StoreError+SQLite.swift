import Foundation
import GRDB

extension StoreError {
    /// One sentence for the user from an SQLite error: what is wrong with which file, and what
    /// to do about it. Never SQLite's own text with the statement it was executing.
    ///
    /// ```swift
    /// do { try database.pool.write { … } }
    /// catch let error as DatabaseError { throw StoreError(sqlite: error, path: database.path) }
    /// // StoreError(.diskFull): "the disk holding /home/me/.agentq/agentq.db is full: free some space and try again"
    /// ```
    /// - parameter path: the database file; `nil` names it "the agentq database".
    /// - parameter busyTimeout: the wait for the lock that ran out, for a busy error's message.
    public init(sqlite error: DatabaseError, path: String?, busyTimeout: TimeInterval = SQLiteDatabase.defaultBusyTimeout) {
        let file = path ?? "the agentq database"
        let directory = path.map { ($0 as NSString).deletingLastPathComponent } ?? "its directory"
        let unwritable = "\(file) is read-only: agentq writes to its database and to the directory holding it; "
            + "make \(directory) writable, or pass --home with a directory you can write"
        switch error.resultCode {
        case .SQLITE_NOTADB:
            self.init(
                .notADatabase,
                "\(file) is not an agentq database (it is some other kind of file): move it away, "
                    + "or pass --home with another directory")
        case .SQLITE_CORRUPT:
            self.init(
                .corrupt,
                "\(file) is damaged: restore it from a backup, or move it away to start with an empty queue")
        case .SQLITE_READONLY:
            self.init(.readOnly, unwritable)
        case .SQLITE_CANTOPEN:
            if let path, Self.cannotWrite(path) {
                self.init(.readOnly, unwritable)
            } else {
                self.init(
                    .cannotOpen,
                    "cannot open \(file): check that \(directory) exists and that you may read and write there")
            }
        case .SQLITE_FULL:
            self.init(.diskFull, "the disk holding \(file) is full: free some space and try again")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            self.init(
                .busy,
                "\(file) is locked by another process for longer than \(Self.seconds(busyTimeout)) s: "
                    + "let it finish (or stop it) and try again, or raise AGENTQ_BUSY_TIMEOUT (seconds)")
        case .SQLITE_IOERR:
            self.init(
                .io,
                "cannot read or write \(file) (an input/output error): check the disk and its free space, then try again")
        default:
            let detail = (error.message ?? "SQLite result code \(error.resultCode.rawValue)")
                .replacingOccurrences(of: "\n", with: " ")
            self.init(.database, "\(file): \(detail)")
        }
    }

    /// The sentence for `error` when it is an SQLite error that escaped a store, else `nil`;
    /// for callers that do not import GRDB.
    public init?(translating error: any Error) {
        guard let error = error as? DatabaseError else { return nil }
        self.init(sqlite: error, path: nil)
    }

    /// Runs `body`, turning an SQLite error into a ``StoreError`` about `path`.
    /// - throws: ``StoreError`` for SQLite errors; other errors unchanged.
    public static func translatingSQLiteErrors<T>(path: String?, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw StoreError(sqlite: error, path: path)
        }
    }

    private static func seconds(_ value: TimeInterval) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }

    /// Whether the database file, or the directory that must hold its journal, cannot be written.
    private static func cannotWrite(_ path: String) -> Bool {
        let directory = (path as NSString).deletingLastPathComponent
        if access(directory, W_OK) != 0 { return true }
        return FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0
    }
}
