#ifndef CSQLITECONFIG_H
#define CSQLITECONFIG_H

/// `sqlite3_db_config` is variadic, which Swift cannot call: these wrap the options agentq uses.
typedef struct sqlite3 sqlite3;

/// Turns the connection's triggers on (1) or off (0), as
/// `sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enable, &now)`. SQLite expires the
/// connection's prepared statements when the setting changes, so each is prepared again, with
/// or without the triggers, when next run.
/// Returns the setting now in force (0 or 1), or -1 when SQLite refused.
int agentq_sqlite3_enable_triggers(sqlite3 *db, int enable);

#endif
