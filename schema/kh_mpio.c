/*  kh_mpio.c - the msgpack plumbing shared by the codec's files: bounded unpacking,
    reading maps by key, packing strings and keyed values, and the position keys
    that records and STORED share.
*/
#include <pthread.h>
#include <string.h>
#include "kh_mpio.h"

/* ------------------------------------------------------------------ reading */

/* Each thread keeps one cleared zone for its next decode (kh__unpacked_release puts
   it back): a decode then costs no 8 KiB malloc and free, which was most of the
   broker's allocation time. A thread's spare is freed when the thread ends. */
static pthread_key_t  s_spare_key;
static pthread_once_t s_spare_once = PTHREAD_ONCE_INIT;
static bool           s_spare_ok;       /* the key exists */

static void
s_spare_free (void *zone)
{
    msgpack_zone_free ((msgpack_zone *) zone);
}

static void
s_spare_init (void)
{
    s_spare_ok = pthread_key_create (&s_spare_key, s_spare_free) == 0;
}

/* Returns this thread's spare zone (it is no longer the spare then), or a new one;
   NULL if memory runs out. */
static msgpack_zone *
s_zone_take (void)
{
    pthread_once (&s_spare_once, s_spare_init);
    msgpack_zone *zone = s_spare_ok ? (msgpack_zone *) pthread_getspecific (s_spare_key)
                                    : NULL;
    if (zone)
        pthread_setspecific (s_spare_key, NULL);
    else
        zone = msgpack_zone_new (MSGPACK_ZONE_CHUNK_SIZE);
    return zone;
}

int
kh__unpack (const void *data, size_t size, msgpack_unpacked *u, kh_problem_t *why)
{
    msgpack_unpacked_init (u);
    if (kh_mp_scan (data, size, why))
        return -1;
    u->zone = s_zone_take ();
    if (!u->zone)
        return kh_problem (why, KH_ENOMEM, "msgpack could not be decoded: out of memory");
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack ((const char *) data, size, &off, u->zone,
                                               &u->data);
    if (rc != MSGPACK_UNPACK_SUCCESS)
        return kh_problem (why, rc == MSGPACK_UNPACK_NOMEM_ERROR ? KH_ENOMEM : KH_EMALFORMED,
                           "msgpack could not be decoded");
    return 0;
}

void
kh__unpacked_release (msgpack_unpacked *u)
{
    msgpack_zone *zone = u->zone;
    u->zone = NULL;
    if (!zone)
        return;
    if (s_spare_ok && !pthread_getspecific (s_spare_key)) {
        msgpack_zone_clear (zone);
        if (pthread_setspecific (s_spare_key, zone) == 0)
            return;
    }
    msgpack_zone_free (zone);
}

/* True if the object is a str equal to the C string key. */
bool
kh__key_is (const msgpack_object *o, const char *key)
{
    size_t len = strlen (key);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == len
        && memcmp (o->via.str.ptr, key, len) == 0;
}

/* Returns the value stored under key in map, or NULL. */
const msgpack_object *
kh__get (const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (kh__key_is (&map->via.map.ptr [i].key, key))
            return &map->via.map.ptr [i].val;
    return NULL;
}

/* Returns the value under key if key is there exactly once, else NULL. */
const msgpack_object *
kh__get_once (const msgpack_object *map, const char *key)
{
    const msgpack_object *value = NULL;
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (kh__key_is (&map->via.map.ptr [i].key, key)) {
            if (value)
                return NULL;
            value = &map->via.map.ptr [i].val;
        }
    return value;
}

/* Reads an optional uint under key (absent: *value = 0). Returns 0 or -1. */
int
kh__get_uint (const msgpack_object *map, const char *key, uint64_t *value,
              int code, kh_problem_t *why)
{
    const msgpack_object *o = kh__get (map, key);
    *value = 0;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return kh_problem (why, code, "%s: expected a non-negative integer", key);
    *value = o->via.u64;
    return 0;
}

/* Reads an optional bool under key (absent: false). Returns 0 or -1. */
int
kh__get_bool (const msgpack_object *map, const char *key, bool *value, kh_problem_t *why)
{
    const msgpack_object *o = kh__get (map, key);
    *value = false;
    if (!o)
        return 0;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return kh_problem (why, KH_EWRONGTYPE, "%s: expected a bool", key);
    *value = o->via.boolean;
    return 0;
}

/* Copies a str object into buf (cap bytes incl. NUL), truncating. */
void
kh__copy_str (const msgpack_object *o, char *buf, size_t cap)
{
    size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
    memcpy (buf, o->via.str.ptr, n);
    buf [n] = 0;
}

/* Reads the position keys from a map; seq is required and > 0. */
int
kh__read_seqinfo (const msgpack_object *map, kh_seqinfo_t *info, kh_problem_t *why)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return kh_problem (why, KH_EWRONGTYPE, "record: expected a map");
    if (kh__get_uint (map, "seq", &info->seq, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "at", &info->at, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "pt", &info->prev_type, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "ps", &info->prev_sender, KH_EWRONGTYPE, why)
    ||  kh__get_uint (map, "pts", &info->prev_pair, KH_EWRONGTYPE, why))
        return -1;
    if (info->seq == 0)
        return kh_problem (why, KH_EMISSING, "seq: required and > 0");
    return 0;
}

/* ------------------------------------------------------------------ writing */

#ifdef KH_CODEC_FAULTS
static _Thread_local size_t s_fault_at;     /* the call of kh__write that fails; 0: none */
static _Thread_local size_t s_fault_calls;  /* calls of kh__write since kh__fault_arm */

void
kh__fault_arm (size_t n)
{
    s_fault_at = n;
    s_fault_calls = 0;
}

size_t
kh__fault_writes (void)
{
    return s_fault_calls;
}
#endif

int
kh__write (void *sbuffer, const char *data, size_t len)
{
#ifdef KH_CODEC_FAULTS
    if (++s_fault_calls == s_fault_at)
        return -1;
#endif
    return msgpack_sbuffer_write (sbuffer, data, len);
}

void
kh__packer_init (msgpack_packer *pk, msgpack_sbuffer *out)
{
    msgpack_packer_init (pk, out, kh__write);
}

int
kh__undo (msgpack_sbuffer *out, size_t size)
{
    out->size = size;
    return -1;
}

int
kh__pack_cstr (msgpack_packer *pk, const char *s)
{
    size_t len = strlen (s);
    return msgpack_pack_str (pk, len) || msgpack_pack_str_body (pk, s, len) ? -1 : 0;
}

int
kh__pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    return kh__pack_cstr (pk, key) || msgpack_pack_uint64 (pk, value) ? -1 : 0;
}

int
kh__pack_bin (msgpack_packer *pk, const void *data, size_t size)
{
    return msgpack_pack_bin (pk, size) || msgpack_pack_bin_body (pk, data, size) ? -1 : 0;
}

int
kh__pack_bool (msgpack_packer *pk, bool value)
{
    return (value ? msgpack_pack_true (pk) : msgpack_pack_false (pk)) ? -1 : 0;
}

int
kh__pack_seqinfo (msgpack_packer *pk, const kh_seqinfo_t *info)
{
    return kh__pack_kv_uint (pk, "seq", info->seq)
        || kh__pack_kv_uint (pk, "at", info->at)
        || kh__pack_kv_uint (pk, "pt", info->prev_type)
        || kh__pack_kv_uint (pk, "ps", info->prev_sender)
        || kh__pack_kv_uint (pk, "pts", info->prev_pair) ? -1 : 0;
}
