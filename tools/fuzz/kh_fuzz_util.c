/*  kh_fuzz_util.c - the failure report, the input framing and the signal-proof ZeroMQ
    calls of the fuzz harnesses. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* Sets SIGALRM's state in the calling thread's mask (how: SIG_BLOCK, SIG_UNBLOCK). */
static void
s_alarm_mask (int how)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGALRM);
    pthread_sigmask (how, &set, NULL);
}

void
kh_fuzz_alarm_block (void)
{
    s_alarm_mask (SIG_BLOCK);
}

void
kh_fuzz_alarm_main (void)
{
    s_alarm_mask (SIG_UNBLOCK);
}

/* Milliseconds on a monotonic clock. */
static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int
kh_fuzz_poll (zmq_pollitem_t *items, int count, long timeout)
{
    int64_t end = s_now_ms () + timeout;
    int rc;
    while ((rc = zmq_poll (items, count, timeout)) == -1 && zmq_errno () == EINTR) {
        timeout = (long) (end - s_now_ms ());
        if (timeout <= 0)
            return 0;
    }
    return rc;
}

int
kh_fuzz_send (void *handle, const void *data, size_t size, int flags)
{
    int rc;
    while ((rc = zmq_send (handle, data, size, flags)) == -1 && zmq_errno () == EINTR)
        ;
    return rc;
}
