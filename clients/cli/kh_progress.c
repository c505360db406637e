/*  kh_progress.c - a progress line for long exports (see kh_progress.h). */
#include <unistd.h>
#include "kh_progress.h"

bool
kh_progress_wanted (void)
{
    return isatty (STDERR_FILENO) && !isatty (STDOUT_FILENO);
}

void
kh_progress_start (kh_progress_t *self, FILE *out, bool on, const char *program,
                   int64_t now)
{
    *self = (kh_progress_t) { .out = out, .program = program, .on = on, .start = now };
}

void
kh_progress_step (kh_progress_t *self, uint64_t rows, int64_t now)
{
    if (!self->on || now - self->start < KH_PROGRESS_AFTER
    ||  (self->visible && now - self->shown < KH_PROGRESS_EVERY))
        return;
    fprintf (self->out, "\r%s: %llu records so far ...", self->program,
             (unsigned long long) rows);
    fflush (self->out);
    self->visible = true;
    self->shown = now;
}

void
kh_progress_end (kh_progress_t *self, uint64_t rows, int64_t now)
{
    if (!self->visible)
        return;
    int64_t tenths = (now - self->start) / 100;
    fprintf (self->out, "\r%s: %llu records in %lld.%lld s      \n", self->program,
             (unsigned long long) rows, (long long) (tenths / 10), (long long) (tenths % 10));
    self->visible = false;
}
