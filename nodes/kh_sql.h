/*  kh_sql.h - the store's SQL schema (nodes/kreishub.sql), embedded at build time. */
#ifndef KH_SQL_H_INCLUDED
#define KH_SQL_H_INCLUDED

/* The version `PRAGMA user_version` holds after kh_sql_schema has run. */
#define KH_SQL_VERSION 1

/* The whole of nodes/kreishub.sql, for sqlite3_exec on an empty database. */
extern const char *const kh_sql_schema;

#endif
