/// A batch to create along with the jobs of one ``JobStore/enqueue(batch:_:)``.
public struct NewBatch: Sendable {
    public var id: String
    public var source: String?
    public init(id: String = SortableID.make(prefix: "bat_"), source: String?) {
        self.id = id
        self.source = source
    }
}
