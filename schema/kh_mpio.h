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
/* Bounds data with kh_mp_scan and unpacks its one object into u, which the caller
   destroys with msgpack_unpacked_destroy whatever this returns. Returns 0, or -1
   with why set (KH_EMALFORMED, KH_ENOMEM). */
int kh__unpack (const void *data, size_t size, msgpack_unpacked *u, kh_problem_t *why);
/* True if the object is a str equal to the C string key. */
bool kh__key_is (const msgpack_object *o, const char *key);
/* Returns the value stored under key in map, or NULL if map is no map or lacks key. */
const msgpack_object *kh__get (const msgpack_object *map, const char *key);
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
/* Packs a C string as a msgpack str. */
void kh__pack_cstr (msgpack_packer *pk, const char *s);
/* Packs a str key and an unsigned value. */
void kh__pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);
/* Packs the five position keys of info (the map header is the caller's). */
void kh__pack_seqinfo (msgpack_packer *pk, const kh_seqinfo_t *info);
/* Appends a map of two uints {ka: a, kb: b}: the shape of beat and HELLO. */
int kh__encode_pair (msgpack_sbuffer *out, const char *ka, uint64_t a, const char *kb,
                     uint64_t b);

#endif
