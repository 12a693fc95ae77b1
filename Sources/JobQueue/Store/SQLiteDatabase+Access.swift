import GRDB

extension SQLiteDatabase {
    /// Runs `body` in a write transaction; SQLite errors become a ``StoreError`` naming this file.
    ///
    /// ```swift
    /// try database.write { db in try db.execute(sql: "DELETE FROM agents WHERE name = ?", arguments: [name]) }
    /// ```
    /// - throws: ``StoreError`` (see ``StoreError/init(sqlite:path:)``), or what `body` throws.
    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        try StoreError.translatingSQLiteErrors(path: path) { try pool.write(body) }
    }

    /// Runs `body` in a read transaction; SQLite errors become a ``StoreError`` naming this file.
    /// - throws: ``StoreError`` (see ``StoreError/init(sqlite:path:)``), or what `body` throws.
    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        try StoreError.translatingSQLiteErrors(path: path) { try pool.read(body) }
    }
}
