import Foundation
import JobQueue

/// Agent definitions in PostgreSQL's `agents` table, as JSON text: ``SQLiteAgentStore`` for
/// many hosts on one database.
///
/// ```swift
/// let database = try PGDatabase(location: PostgresLocation(url: url), migrations: PostgresAgentStore.migrations)
/// let agents = PostgresAgentStore(database: database)
/// try agents.save(AgentDefinition(name: "slow", provider: "echo", model: "echo"))
/// ```
public final class PostgresAgentStore: AgentStore {
    public let database: PGDatabase

    public init(database: PGDatabase) { self.database = database }

    /// `COLLATE "C"`: names sort by their bytes, as SQLite's do.
    public static let migrations: [PGMigration] = [
        .statements("agents-1-agents", """
            CREATE TABLE agents (
                name text COLLATE "C" PRIMARY KEY,
                definition text NOT NULL,
                created_at bigint NOT NULL,
                updated_at bigint NOT NULL
            );
            INSERT INTO agents (name, definition, created_at, updated_at)
            VALUES ('echo', '\(AgentDefinition.echo.jsonText())', (extract(epoch FROM now()) * 1000)::bigint,
                    (extract(epoch FROM now()) * 1000)::bigint);
            """),
    ]

    public func save(_ agent: AgentDefinition) throws -> Bool {
        let now = database.databaseTime(for: .now).milliseconds
        return try database.write { connection in
            // `xmax = 0` only for a row this statement inserted: one round trip tells a
            // replacement from a new agent, with no window between a check and the write.
            let inserted = try connection.scalar("""
                INSERT INTO agents (name, definition, created_at, updated_at) VALUES (\(agent.name), \(agent.jsonText()), \(now), \(now))
                ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                RETURNING xmax = 0
                """, as: Bool.self) ?? true
            return !inserted
        }
    }

    public func agent(named name: String) throws -> AgentDefinition? {
        try database.read { connection in
            try connection.scalar("SELECT definition FROM agents WHERE name = \(name)", as: String.self)
        }.map(Self.decode)
    }

    public func allAgents() throws -> [AgentDefinition] {
        try database.read { connection in
            try connection.query("SELECT definition FROM agents ORDER BY name").map { try $0.decode(String.self) }
        }.map(Self.decode)
    }

    public func remove(named name: String) throws -> Bool {
        try database.write { connection in
            try connection.execute("DELETE FROM agents WHERE name = \(name)") > 0
        }
    }

    private static func decode(_ text: String) throws -> AgentDefinition {
        try JSONDecoder().decode(AgentDefinition.self, from: Data(text.utf8))
    }
}
