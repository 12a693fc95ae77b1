/// Inserts jobs inside ``JobStore/enqueue(batch:_:)``.
public protocol JobInserter {
    /// - returns: the new job's ID.
    @discardableResult
    func insert(_ job: NewJob) throws -> String
}
