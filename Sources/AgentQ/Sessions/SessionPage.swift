/// Which sessions ``SessionStore/sessions(page:)`` returns: an optional agent and status, and
/// a keyset cursor, so paging a large home reads only the rows of the page.
///
/// ```swift
/// var page = SessionPage(agent: "echo", status: .idle, limit: 100)
/// let sessions = try store.sessions(page: page)
/// page.after = sessions.last?.id      // the next page
/// ```
public struct SessionPage: Sendable, Hashable {
    public var agent: String?
    public var status: SessionStatus?
    /// The last session ID of the previous page; nil: the first page.
    public var after: String?
    public var limit: Int

    /// The page size when none is given, and the largest one allowed.
    public static let defaultLimit = 100
    public static let maximumLimit = 1000

    public init(agent: String? = nil, status: SessionStatus? = nil, after: String? = nil, limit: Int = SessionPage.defaultLimit) {
        self.agent = agent
        self.status = status
        self.after = after
        self.limit = limit
    }
}
