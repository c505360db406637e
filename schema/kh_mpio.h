/*  kh_mpio.h - msgpack plumbing shared by the codec's files (internal to schema/).

    kh_codec.c, kh_envelope.c, kh_builder.c and kh_link.c read and write msgpack
    through these helpers, so that every decoder bounds its input the same way and
    reads maps by key the same way. Nothing outside schema/ includes this header: the
    tree sees kh_codec.h and kh_link.h, a client sees kreishub/kh_wire.h.
*/
#ifndef KH_MPIO_H_INCLUDED
#define KH_MPIO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include "kh_codec.h"

/* ------------------------------------------------------------------ reading */
/* Bounds data with kh_mp_scan and unpacks its one object (and nothing after it)
   into u, in the calling thread's spare zone if it has one. The caller releases u
   whatever this returns: with kh__unpacked_release, which keeps the zone for the
   thread's next decode, or with msgpack_unpacked_destroy. Returns 0, or -1 with why
   set (KH_EMALFORMED, KH_ENOMEM). */
int kh__unpack (const void *data, size_t size, msgpack_unpacked *u, kh_problem_t *why);
/* Ends u (the objects it points to die): its zone, cleared, becomes the calling
   thread's spare if that has none, else it is freed. Safe on an unpacked without a
   zone. */
void kh__unpacked_release (msgpack_unpacked *u);
/* True if the object is a str equal to the C string key. */
bool kh__key_is (const msgpack_object *o, const char *key);
/* Returns the value stored under key in map, or NULL if map is no map or lacks key. */
const msgpack_object *kh__get (const msgpack_object *map, const char *key);
/* Returns the value stored under key in map if the key is there exactly once; NULL
   if map is no map, lacks key, or holds it twice (then neither value is it). */
const msgpack_object *kh__get_once (const msgpack_object *map, const char *key);
/* Reads an optional uint under key (absent: *value = 0). Returns 0, or -1 with why
   set to code if the value is no non-negative integer. */
int kh__get_uint (const msgpack_object *map, const char *key, uint64_t *value,
                  int code, kh_problem_t *why);
/* Reads an optional bool under key (absent: false). Returns 0, or -1 with why set. */
int kh__get_bool (const msgpack_object *map, const char *key, bool *value,
                  kh_problem_t *why);
/* Copies a str object into buf (cap > 0 bytes including the NUL), truncating. */
void kh__copy_str (const msgpack_object *o, char *buf, size_t cap);
/* Reads the position keys (seq, at, pt, ps, pts) of a record or STORED map; seq is
   required and > 0. Returns 0, or -1 with why set. */
int kh__read_seqinfo (const msgpack_object *map, kh_seqinfo_t *info, kh_problem_t *why);

/* ------------------------------------------------------------------ writing */
/* The one write callback of the codec: every packer points at it (kh__packer_init)
   and every append of ready bytes calls it, so that one place sees every write. It
   appends len bytes at data to the msgpack_sbuffer sbuffer. Returns 0, or -1 if the
   buffer cannot grow (then nothing is appended). In the fault test's copy of the
   codec (built with KH_CODEC_FAULTS) it also fails the write kh__fault_arm chose. */
int kh__write (void *sbuffer, const char *data, size_t len);
/* Points pk at out, writing through kh__write. */
void kh__packer_init (msgpack_packer *pk, msgpack_sbuffer *out);
/* Cuts out back to size bytes, dropping what a failed encoder appended; returns -1,
   so that an encoder can say `return kh__undo (out, start)`. */
int kh__undo (msgpack_sbuffer *out, size_t size);

/* The packers below return 0, or -1 at the first write that fails (they write no
   more after it; what they wrote before stays for the caller to undo). */
/* Packs a C string as a msgpack str. */
int kh__pack_cstr (msgpack_packer *pk, const char *s);
/* Packs a str key and an unsigned value. */
int kh__pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);
/* Packs size bytes at data as a msgpack bin. */
int kh__pack_bin (msgpack_packer *pk, const void *data, size_t size);
/* Packs a msgpack bool. */
int kh__pack_bool (msgpack_packer *pk, bool value);
/* Packs the five position keys of info (the map header is the caller's). */
int kh__pack_seqinfo (msgpack_packer *pk, const kh_seqinfo_t *info);

#ifdef KH_CODEC_FAULTS
/* Fault injection, compiled only into the fault test's copy of the codec. Counts
   run per thread. */
/* From now on, the n-th call of kh__write fails (once; later calls succeed again);
   n = 0: none fails. Restarts the count of calls. */
void kh__fault_arm (size_t n);
/* Returns how often kh__write was called since the last kh__fault_arm. */
size_t kh__fault_writes (void);
#endif

#endif
