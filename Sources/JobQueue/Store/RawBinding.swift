import GRDB
import GRDBSQLite

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes (the C macro does not import into Swift).
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Binding and stepping a GRDB-prepared statement through the C API, for the few statements
/// run once per job (insert, complete): it skips building `StatementArguments` and doubles
/// their speed. Statements stay prepared and cached by GRDB.
extension Statement {
    func bind(_ index: Int32, _ value: String?) {
        if let value {
            sqlite3_bind_text(sqliteStatement, index, value, -1, transient)
        } else {
            sqlite3_bind_null(sqliteStatement, index)
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value {
            sqlite3_bind_int64(sqliteStatement, index, value)
        } else {
            sqlite3_bind_null(sqliteStatement, index)
        }
    }

    func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(sqliteStatement, index, Int64(value)) }

    /// Runs a statement that returns no rows.
    /// - returns: the number of rows it changed.
    /// - throws: ``StoreError`` with SQLite's message.
    @discardableResult
    func stepToCompletion(_ db: Database) throws -> Int {
        let code = sqlite3_step(sqliteStatement)
        defer {
            sqlite3_reset(sqliteStatement)
            sqlite3_clear_bindings(sqliteStatement)
        }
        guard code == SQLITE_DONE else {
            throw StoreError(.database, String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        return Int(sqlite3_changes(db.sqliteConnection))
    }
}
