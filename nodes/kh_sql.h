/*  kh_sql.h - the store's SQL schema (nodes/kreishub.sql), embedded at build time. */
#ifndef KH_SQL_H_INCLUDED
#define KH_SQL_H_INCLUDED

/* The version `PRAGMA user_version` holds after every section of kh_sql_schema has
   run. */
#define KH_SQL_VERSION 3

/* The whole of nodes/kreishub.sql: one section per version, each beginning with a
   line "-- version N", run one after the other (kh_store.c migrates so). */
extern const char *const kh_sql_schema;

#endif
