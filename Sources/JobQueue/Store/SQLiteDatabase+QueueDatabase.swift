/// A home's SQLite file as the queue's database: its location is the file's path.
extension SQLiteDatabase: QueueDatabase {
    public var locationDescription: String { path }
}
