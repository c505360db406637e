/*  kh_mpscan.c - bounds an untrusted msgpack buffer before msgpack-c decodes it.

    msgpack-c reserves memory for a container's declared element count before it
    knows the elements exist, and its unpack_next reports success with bytes left
    over. This scanner walks the encoding without decoding anything and accepts a
    buffer only if it holds exactly one object, nested at most KH_DEPTH_MAX deep,
    whose every container declares no more elements than bytes remain (each element
    takes at least one byte). After it, msgpack-c allocates at most a small multiple
    of the input size.
*/
#include <assert.h>
#include <string.h>
#include "kh_codec.h"

/* Reads a big-endian unsigned integer of n (1, 2, 4 or 8) bytes. */
static uint64_t
s_be (const uint8_t *p, int n)
{
    uint64_t value = 0;
    for (int i = 0; i < n; i++)
        value = (value << 8) | p [i];
    return value;
}

/* How one lead byte is laid out: bytes of length field, fixed payload, and whether
   the length counts payload bytes, array elements or map pairs. */
typedef enum { S_SCALAR, S_BYTES, S_EXT, S_ARRAY, S_MAP, S_INVALID } s_shape_t;

typedef struct {
    s_shape_t shape;
    int       lenbytes;     /* size of the length field that follows the lead byte */
    uint64_t  fixed;        /* payload bytes (scalars) or count (fix containers) */
} s_head_t;

/* Classifies the lead byte b of a msgpack object. */
static s_head_t
s_head (uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0)        return (s_head_t) { S_SCALAR, 0, 0 };
    if (b <= 0x8f)                     return (s_head_t) { S_MAP, 0, b & 0x0f };
    if (b <= 0x9f)                     return (s_head_t) { S_ARRAY, 0, b & 0x0f };
    if (b <= 0xbf)                     return (s_head_t) { S_BYTES, 0, b & 0x1f };
    switch (b) {
        case 0xc0: case 0xc2: case 0xc3: return (s_head_t) { S_SCALAR, 0, 0 };
        case 0xc4: case 0xd9:            return (s_head_t) { S_BYTES, 1, 0 };
        case 0xc5: case 0xda:            return (s_head_t) { S_BYTES, 2, 0 };
        case 0xc6: case 0xdb:            return (s_head_t) { S_BYTES, 4, 0 };
        case 0xc7:                       return (s_head_t) { S_EXT, 1, 0 };
        case 0xc8:                       return (s_head_t) { S_EXT, 2, 0 };
        case 0xc9:                       return (s_head_t) { S_EXT, 4, 0 };
        case 0xca: case 0xce: case 0xd2: return (s_head_t) { S_SCALAR, 0, 4 };
        case 0xcb: case 0xcf: case 0xd3: return (s_head_t) { S_SCALAR, 0, 8 };
        case 0xcc: case 0xd0:            return (s_head_t) { S_SCALAR, 0, 1 };
        case 0xcd: case 0xd1:            return (s_head_t) { S_SCALAR, 0, 2 };
        case 0xd4:                       return (s_head_t) { S_SCALAR, 0, 2 };
        case 0xd5:                       return (s_head_t) { S_SCALAR, 0, 3 };
        case 0xd6:                       return (s_head_t) { S_SCALAR, 0, 5 };
        case 0xd7:                       return (s_head_t) { S_SCALAR, 0, 9 };
        case 0xd8:                       return (s_head_t) { S_SCALAR, 0, 17 };
        case 0xdc:                       return (s_head_t) { S_ARRAY, 2, 0 };
        case 0xdd:                       return (s_head_t) { S_ARRAY, 4, 0 };
        case 0xde:                       return (s_head_t) { S_MAP, 2, 0 };
        case 0xdf:                       return (s_head_t) { S_MAP, 4, 0 };
        default:                         return (s_head_t) { S_INVALID, 0, 0 };
    }
}

int
kh_mp_scan (const void *data, size_t size, kh_problem_t *why)
{
    assert (data || size == 0);
    if (size == 0)
        return kh_problem (why, KH_EMALFORMED, "empty frame");
    const uint8_t *p = (const uint8_t *) data;
    const uint8_t *end = p + size;
    uint64_t stack [KH_DEPTH_MAX + 1];  /* objects still to read at each level */
    int top = 0;
    stack [0] = 1;
    while (true) {
        while (top >= 0 && stack [top] == 0)
            top--;
        if (top < 0)
            break;
        stack [top]--;
        if (p >= end)
            return kh_problem (why, KH_EMALFORMED, "truncated msgpack at byte %zu",
                               (size_t) (p - (const uint8_t *) data));
        size_t at = (size_t) (p - (const uint8_t *) data);
        s_head_t head = s_head (*p++);
        if (head.shape == S_INVALID)
            return kh_problem (why, KH_EMALFORMED, "invalid msgpack byte 0x%02x at byte %zu",
                               p [-1], at);
        uint64_t length = head.fixed;
        if (head.lenbytes) {
            if ((size_t) (end - p) < (size_t) head.lenbytes)
                return kh_problem (why, KH_EMALFORMED, "truncated msgpack at byte %zu", at);
            length = s_be (p, head.lenbytes);
            p += head.lenbytes;
        }
        size_t left = (size_t) (end - p);
        switch (head.shape) {
            case S_SCALAR:
            case S_BYTES:
            case S_EXT: {
                uint64_t skip = head.shape == S_EXT ? length + 1 : length;
                if (skip > left)
                    return kh_problem (why, KH_EMALFORMED, "truncated msgpack at byte %zu", at);
                p += skip;
                break;
            }
            case S_ARRAY:
            case S_MAP: {
                uint64_t count = head.shape == S_MAP ? length * 2 : length;
                if (count > left)
                    return kh_problem (why, KH_EMALFORMED,
                                       "container at byte %zu declares %llu elements in %zu bytes",
                                       at, (unsigned long long) count, left);
                /* an empty container is a level too, as the JSON reader counts it */
                if (top + 1 > KH_DEPTH_MAX)
                    return kh_problem (why, KH_EMALFORMED,
                                       "msgpack nested deeper than %d levels", KH_DEPTH_MAX);
                if (count == 0)
                    break;
                stack [++top] = count;
                break;
            }
            default:
                break;
        }
    }
    if (p != end)
        return kh_problem (why, KH_EMALFORMED, "%zu bytes after the msgpack object",
                           (size_t) (end - p));
    return 0;
}
