/*  kh_fuzz_util.c - the failure report and the input framing of the fuzz harnesses. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_fuzz.h"

void
kh_fuzz_fail (const char *target, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    fprintf (stderr, "kh-fuzz: %s: ", target);
    vfprintf (stderr, fmt, args);
    fprintf (stderr, "\n");
    va_end (args);
    abort ();
}

size_t
kh_fuzz_frames (const uint8_t *data, size_t size, kh_fuzz_frame_t *frames, size_t max)
{
    size_t count = 0, pos = 0;
    while (count < max && size - pos >= 2) {
        size_t len = (size_t) data [pos] << 8 | data [pos + 1];
        pos += 2;
        if (len > size - pos)
            len = size - pos;
        frames [count++] = (kh_fuzz_frame_t) { data + pos, len };
        pos += len;
    }
    return count;
}

int
kh_fuzz_frame_add (msgpack_sbuffer *out, const void *data, size_t size)
{
    if (size > 0xffff)
        return -1;
    uint8_t len [2] = { (uint8_t) (size >> 8), (uint8_t) size };
    if (msgpack_sbuffer_write (out, (const char *) len, 2))
        return -1;
    return size ? msgpack_sbuffer_write (out, (const char *) data, size) : 0;
}

bool
kh_fuzz_frame_is (const kh_fuzz_frame_t *frame, const char *text)
{
    size_t len = strlen (text);
    return frame->size == len && memcmp (frame->data, text, len) == 0;
}
