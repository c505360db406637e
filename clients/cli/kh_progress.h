/*  kh_progress.h - a line on the terminal that says how far a long export has come.

    It shows only where someone watches it and nothing else does: when stderr is a
    terminal and stdout is not (the rows go to a file or a pipe; on a terminal they
    show themselves). It appears after KH_PROGRESS_AFTER ms, then changes at most
    every KH_PROGRESS_EVERY ms, written over itself ("\r"), and ends with a line of
    its own. Times are given by the caller (zclock_mono), so that a test can tell
    the story without waiting.
*/
#ifndef KH_PROGRESS_H_INCLUDED
#define KH_PROGRESS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define KH_PROGRESS_AFTER  1000         /* ms before the line first shows */
#define KH_PROGRESS_EVERY  250          /* ms between changes, at least */

typedef struct {
    FILE       *out;                    /* where the line goes (stderr) */
    const char *program;                /* e.g. "kreishub log" */
    bool        on;                     /* shown at all */
    bool        visible;                /* the line is on the screen */
    int64_t     start;                  /* ms */
    int64_t     shown;                  /* ms when the line last changed */
} kh_progress_t;

/* True if a progress line belongs on stderr: it is a terminal, stdout is not. */
bool kh_progress_wanted (void);

/* Starts counting at now for program; the line goes to out if on. */
void kh_progress_start (kh_progress_t *self, FILE *out, bool on, const char *program,
                        int64_t now);

/* Says that rows rows are written by now: shows or updates the line when due. */
void kh_progress_step (kh_progress_t *self, uint64_t rows, int64_t now);

/* Ends the line, if it showed, with the total and the time taken. */
void kh_progress_end (kh_progress_t *self, uint64_t rows, int64_t now);

#endif
