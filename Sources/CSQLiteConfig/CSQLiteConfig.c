#include <sqlite3.h>
#include "CSQLiteConfig.h"

int agentq_sqlite3_enable_triggers(sqlite3 *db, int enable) {
    int now = -1;
    if (sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enable, &now) != SQLITE_OK) return -1;
    return now;
}
