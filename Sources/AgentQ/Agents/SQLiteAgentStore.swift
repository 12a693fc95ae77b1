import Foundation
import GRDB
import JobQueue

/// Agent definitions in the `agents` table, as JSON text.
///
/// ```swift
/// let agents = SQLiteAgentStore(database: database)
/// try agents.save(AgentDefinition(name: "slow", provider: "echo", model: "echo"))
/// ```
public final class SQLiteAgentStore: AgentStore {
    public let database: SQLiteDatabase

    public init(database: SQLiteDatabase) { self.database = database }

    public static let migrations: [SQLiteMigration] = [
        SQLiteMigration("agentq-1-agents", sql: """
            CREATE TABLE agents (
                name TEXT PRIMARY KEY NOT NULL,
                definition TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            INSERT INTO agents (name, definition, created_at, updated_at)
            VALUES ('echo', '\(AgentDefinition.echo.jsonText())', CAST(strftime('%s','now') AS INTEGER) * 1000,
                    CAST(strftime('%s','now') AS INTEGER) * 1000);
            """),
    ]

    public func save(_ agent: AgentDefinition) throws -> Bool {
        try database.write { db in
            let now = Timestamp.now.milliseconds
            let existed = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM agents WHERE name = ?)", arguments: [agent.name]) ?? false
            try db.execute(sql: """
                INSERT INTO agents (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                """, arguments: [agent.name, agent.jsonText(), now, now])
            return existed
        }
    }

    public func agent(named name: String) throws -> AgentDefinition? {
        try database.read { db in
            try String.fetchOne(db, sql: "SELECT definition FROM agents WHERE name = ?", arguments: [name])
        }.map(Self.decode)
    }

    public func allAgents() throws -> [AgentDefinition] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT definition FROM agents ORDER BY name")
        }.map(Self.decode)
    }

    public func remove(named name: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "DELETE FROM agents WHERE name = ?", arguments: [name])
            return db.changesCount > 0
        }
    }

    private static func decode(_ text: String) throws -> AgentDefinition {
        try JSONDecoder().decode(AgentDefinition.self, from: Data(text.utf8))
    }
}
