/*  kh_sync.h - the recorder's durability modes by name: what `--sync` and the config
    key `sync` accept. The recorder program, `kreishub up` and the bench read them
    here, so that all three take the same words in any case. */
#ifndef KH_SYNC_H_INCLUDED
#define KH_SYNC_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

/* How durable a commit of the store is (SQLite's synchronous); the store takes it. */
typedef enum {
    KH_SYNC_FULL = 0,                   /* fsync the WAL at every commit */
    KH_SYNC_NORMAL,                     /* survives a process crash, not a power cut */
    KH_SYNC_OFF                         /* no fsync: benchmarks only */
} kh_sync_t;

/* The names, for messages and usage texts. */
#define KH_SYNC_CHOICES "full, normal or off"

/* Reads a mode's name, in any case, into *mode. Returns 0, or -1 if text is NULL or
   not a mode. */
int kh_sync_parse (const char *text, kh_sync_t *mode);

/* Returns the mode's name in lower case ("full" for a value out of range). */
const char *kh_sync_name (kh_sync_t mode);

#ifdef __cplusplus
}
#endif
#endif
