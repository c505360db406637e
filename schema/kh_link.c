/*  kh_link.c - the broker<->recorder frames of kh_link.h: STORED and HELLO. */
#include <assert.h>
#include <string.h>
#include "kh_link.h"
#include "kh_mpio.h"

int
kh_stored_encode (msgpack_sbuffer *out, const kh_seqinfo_t *info, bool dup)
{
    assert (out);
    assert (info);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 6)
    ||  kh__pack_seqinfo (&pk, info)
    ||  kh__pack_cstr (&pk, "dup") || kh__pack_bool (&pk, dup))
        return kh__undo (out, start);
    return 0;
}

int
kh_stored_decode (const void *data, size_t size, kh_seqinfo_t *info, bool *dup,
                  kh_problem_t *why)
{
    assert (info);
    assert (dup);
    msgpack_unpacked u;
    memset (info, 0, sizeof *info);
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__read_seqinfo (&u.data, info, why);
    if (rc == 0)
        rc = kh__get_bool (&u.data, "dup", dup, why);
    msgpack_unpacked_destroy (&u);
    return rc;
}

int
kh_hello_encode (msgpack_sbuffer *out, uint64_t head)
{
    assert (out);
    size_t start = out->size;
    msgpack_packer pk;
    kh__packer_init (&pk, out);
    if (msgpack_pack_map (&pk, 2)
    ||  kh__pack_kv_uint (&pk, "v", KH_FORMAT_VERSION)
    ||  kh__pack_kv_uint (&pk, "head", head))
        return kh__undo (out, start);
    return 0;
}

int
kh_hello_decode (const void *data, size_t size, uint64_t *head, kh_problem_t *why)
{
    assert (head);
    msgpack_unpacked u;
    uint64_t version = 0;
    int rc = kh__unpack (data, size, &u, why);
    if (rc == 0)
        rc = kh__get_uint (&u.data, "v", &version, KH_EWRONGTYPE, why)
          || kh__get_uint (&u.data, "head", head, KH_EWRONGTYPE, why) ? -1 : 0;
    if (rc == 0 && version != KH_FORMAT_VERSION)
        rc = kh_problem (why, KH_EVERSION, "hello: recorder speaks version %llu",
                         (unsigned long long) version);
    msgpack_unpacked_destroy (&u);
    return rc;
}
