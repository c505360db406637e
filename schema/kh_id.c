/*  kh_id.c - message ids (UUIDv7) and the wall clock they carry. */
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "kreishub/kh_wire.h"

uint64_t
kh_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

void
kh_id_new (uint8_t id [KH_ID_SIZE])
{
    if (!id)
        return;
    uint64_t ms = kh_now_ms ();
    /* getrandom: thread-safe, no file to open; 16 bytes never block once the kernel's
       pool is initialised, and never come back short. */
    if (getrandom (id, KH_ID_SIZE, 0) != KH_ID_SIZE) {
        /* Without it, fall back to a clock-seeded generator. */
        struct timespec ts;
        clock_gettime (CLOCK_MONOTONIC, &ts);
        uint64_t x = ms ^ ((uint64_t) getpid () << 32) ^ (uint64_t) ts.tv_nsec;
        for (int i = 0; i < KH_ID_SIZE; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            id [i] = (uint8_t) x;
        }
    }
    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t) (ms >> (40 - 8 * i));
    id [6] = (uint8_t) (0x70 | (id [6] & 0x0f));
    id [8] = (uint8_t) (0x80 | (id [8] & 0x3f));
}

void
kh_id_format (const uint8_t id [KH_ID_SIZE], char out [KH_ID_STR_SIZE])
{
    static const char hex [] = "0123456789abcdef";
    if (!out)
        return;
    char *p = out;
    for (int i = 0; id && i < KH_ID_SIZE; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex [id [i] >> 4];
        *p++ = hex [id [i] & 15];
    }
    *p = 0;
}

/* Returns the value of hex digit c, or -1. */
static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int
kh_id_parse (const char *text, uint8_t id [KH_ID_SIZE])
{
    size_t len = text ? strlen (text) : 0;
    bool dashed = len == 36;
    if (!id || (!dashed && len != 32))
        return -1;
    int n = 0;
    for (size_t i = 0; i < len; ) {
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (text [i] != '-')
                return -1;
            i++;
            continue;
        }
        int hi = s_hexval (text [i]), lo = s_hexval (text [i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        id [n++] = (uint8_t) (hi << 4 | lo);
        i += 2;
    }
    return n == KH_ID_SIZE ? 0 : -1;
}
