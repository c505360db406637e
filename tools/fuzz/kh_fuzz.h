/*  kh_fuzz.h - what the libFuzzer harnesses of tools/fuzz share: the report of a
    broken invariant, the framing that turns one fuzz input into the frames of a
    multipart message (and a seed back into such an input), and ZeroMQ calls that
    survive libFuzzer's signals.

    A framed input is a sequence of frames, each a 2-byte big-endian length followed
    by that many bytes. A length beyond what remains takes the rest; fewer than two
    bytes left end the input. So every byte string is a valid input, and a seed made
    with kh_fuzz_frame_add reads back as the frames it was made of.
*/
#ifndef KH_FUZZ_H_INCLUDED
#define KH_FUZZ_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>
#include <zmq.h>

#define KH_FUZZ_FRAMES_MAX  16          /* frames read from one input, at most */

/* One frame of a framed input: a view into the input's bytes. */
typedef struct {
    const uint8_t *data;
    size_t         size;
} kh_fuzz_frame_t;

/* Prints "kh-fuzz: <target>: <reason>" on stderr and aborts, so that libFuzzer saves
   the input that broke the invariant as a crash. */
void kh_fuzz_fail (const char *target, const char *fmt, ...)
    __attribute__ ((noreturn, format (printf, 2, 3)));

/* Splits the size bytes at data into at most max frames (see above) and returns how
   many it found; the bytes after the max-th frame are ignored. */
size_t kh_fuzz_frames (const uint8_t *data, size_t size, kh_fuzz_frame_t *frames,
                       size_t max);

/* Appends one frame of size bytes (at most 65535) to out, as kh_fuzz_frames reads it.
   Returns 0, or -1 if size is too large or memory runs out. */
int kh_fuzz_frame_add (msgpack_sbuffer *out, const void *data, size_t size);

/* True if the frame holds exactly the bytes of text. */
bool kh_fuzz_frame_is (const kh_fuzz_frame_t *frame, const char *text);

/* Blocks SIGALRM in the calling thread and so in every thread it starts from now on
   (libzmq's, czmq actors'). libFuzzer's -timeout watchdog raises SIGALRM, and a
   signal that lands in a thread blocked in zmq_poll makes the call fail with EINTR:
   a czmq zloop takes that as its end. Call it first in LLVMFuzzerInitialize; then
   kh_fuzz_alarm_main gives SIGALRM back to the main thread alone. */
void kh_fuzz_alarm_block (void);
void kh_fuzz_alarm_main (void);

/* zmq_poll, repeated while a signal interrupts it, within timeout ms in all.
   Returns what zmq_poll last returned (0: nothing came in time, -1: an error). */
int kh_fuzz_poll (zmq_pollitem_t *items, int count, long timeout);

/* zmq_send, repeated while a signal interrupts it. Returns what zmq_send returned. */
int kh_fuzz_send (void *handle, const void *data, size_t size, int flags);

#endif
