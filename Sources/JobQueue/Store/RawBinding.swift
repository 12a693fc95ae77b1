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

/// Binds `text` (nil: NULL) to parameter `index` in place (`SQLITE_STATIC`): the bytes must stay
/// valid until the statement has run and its bindings are cleared.
/// - returns: SQLite's result code (`SQLITE_TOOBIG` for a value over its length limit).
func bindTextInPlace(_ statement: SQLiteStatement, _ index: Int32, _ text: UnsafeBufferPointer<UInt8>?) -> Int32 {
    guard let text else { return sqlite3_bind_null(statement, index) }
    guard text.count <= Int(Int32.max) else { return SQLITE_TOOBIG }
    // A zero-length value still needs a non-null pointer to be '' rather than NULL.
    let pointer = UnsafeRawPointer(text.baseAddress ?? UnsafePointer(bitPattern: 1))
    return sqlite3_bind_text(statement, index, pointer?.assumingMemoryBound(to: CChar.self), Int32(text.count), nil)
}
