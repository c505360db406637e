/*  kh_parts.h - one multipart ZeroMQ message, received bounded.

    A peer decides how many frames a message has; we decide how many we keep. The
    first KH_PARTS_MAX frames are received into a fixed array of zmq_msg_t (no copy,
    no allocation beyond libzmq's own); frames past it are received, counted and
    closed at once. Every receiver of network input in the hub uses this, so a
    message of a million frames costs a counter, not memory.
*/
#ifndef KH_PARTS_H_INCLUDED
#define KH_PARTS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KH_PARTS_MAX    5               /* frames kept of one message */

/* A received message. Frames [0, kept) are open and owned by it; a frame may be
   taken out with zmq_msg_move (it is then empty, and closing it is harmless). */
typedef struct {
    zmq_msg_t part [KH_PARTS_MAX];
    int       kept;                     /* frames held in part, <= KH_PARTS_MAX */
    int       count;                    /* frames the message had; may exceed kept */
} kh_parts_t;

/* Receives one whole message from the libzmq socket handle into self; flags apply to
   the first frame (0 or ZMQ_DONTWAIT). Returns the frame count, 0 if flags had
   ZMQ_DONTWAIT and nothing was waiting, or -1 if the receive failed (interrupted,
   socket closing); on 0 and -1 nothing is left open. */
int kh_parts_recv (kh_parts_t *self, void *handle, int flags);

/* Closes every frame held; self may be received into again. */
void kh_parts_close (kh_parts_t *self);

/* Returns frame index (NULL if the message had no such frame or it was not kept). */
zmq_msg_t *kh_parts_at (kh_parts_t *self, int index);

/* True if frame index exists and holds exactly the bytes of text. */
bool kh_parts_is (kh_parts_t *self, int index, const char *text);

#ifdef __cplusplus
}
#endif
#endif
