/*  kh_parts.c - receives a multipart message into a fixed array, dropping the rest. */
#include <errno.h>
#include <string.h>
#include "kh_parts.h"

int
kh_parts_recv (kh_parts_t *self, void *handle, int flags)
{
    self->kept = self->count = 0;
    for (bool more = true; more; self->count++) {
        zmq_msg_t extra;
        bool keep = self->count < KH_PARTS_MAX;
        zmq_msg_t *part = keep ? &self->part [self->count] : &extra;
        zmq_msg_init (part);
        if (zmq_msg_recv (part, handle, self->count ? 0 : flags) == -1) {
            int error = zmq_errno ();
            bool none = self->count == 0 && error == EAGAIN;
            zmq_msg_close (part);
            kh_parts_close (self);
            return none ? 0 : -1;
        }
        more = zmq_msg_more (part);
        if (keep)
            self->kept++;
        else
            zmq_msg_close (&extra);
    }
    return self->count;
}

void
kh_parts_close (kh_parts_t *self)
{
    for (int i = 0; i < self->kept; i++)
        zmq_msg_close (&self->part [i]);
    self->kept = self->count = 0;
}

zmq_msg_t *
kh_parts_at (kh_parts_t *self, int index)
{
    return index >= 0 && index < self->kept ? &self->part [index] : NULL;
}

bool
kh_parts_is (kh_parts_t *self, int index, const char *text)
{
    zmq_msg_t *part = kh_parts_at (self, index);
    size_t size = strlen (text);
    return part && zmq_msg_size (part) == size
        && memcmp (zmq_msg_data (part), text, size) == 0;
}
