/*  kh_fuzz_replay.c - the main of a fuzz target in a build without libFuzzer: feeds
    every file named (a directory: every file in it) to LLVMFuzzerTestOneInput once,
    so that any compiler builds the harnesses and ctest replays the seeds and every
    crash ever found through them, with the sanitizers or valgrind of that build.
    Exit status 0 after the last input (a broken invariant aborts), 2 if a path
    cannot be read.
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kh_fuzz.h"

#define S_INPUT_MAX (1024 * 1024)       /* bytes of one input, at most */

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

/* Feeds the file at path to the target. Returns 0, or -1 if it cannot be read. */
static int
s_replay_file (const char *path, uint8_t *buf)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    size_t size = fread (buf, 1, S_INPUT_MAX, file);
    int rc = ferror (file) ? -1 : 0;
    fclose (file);
    if (rc == 0)
        LLVMFuzzerTestOneInput (buf, size);
    return rc;
}

/* Feeds path (a file, or every regular file of a directory) to the target. Returns
   how many inputs, or -1 if something cannot be read. */
static long
s_replay (const char *path, uint8_t *buf)
{
    struct stat st;
    if (stat (path, &st))
        return -1;
    if (!S_ISDIR (st.st_mode))
        return s_replay_file (path, buf) ? -1 : 1;
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    long count = 0;
    struct dirent *entry;
    while (count >= 0 && (entry = readdir (dir))) {
        char name [4096];
        snprintf (name, sizeof name, "%s/%s", path, entry->d_name);
        if (entry->d_name [0] != '.' && stat (name, &st) == 0 && S_ISREG (st.st_mode))
            count = s_replay_file (name, buf) ? -1 : count + 1;
    }
    closedir (dir);
    return count;
}

int
main (int argc, char *argv [])
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize (&argc, &argv);
    uint8_t *buf = malloc (S_INPUT_MAX);
    if (!buf)
        return 2;
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long count = s_replay (argv [i], buf);
        if (count < 0) {
            fprintf (stderr, "%s: cannot read %s\n", argv [0], argv [i]);
            free (buf);
            return 2;
        }
        total += count;
    }
    free (buf);
    printf ("%s: %ld inputs replayed, every invariant held\n", argv [0], total);
    return 0;
}
