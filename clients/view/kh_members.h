/*  kh_members.h - the Kreis and its member municipalities, whom `kreishub up` gives
    certificates: the config file's section 'kreis', else the Rhein-Kreis Neuss and
    its eight municipalities.

    The section names the Kreis by its Kreisschluessel and name, and each member by
    its AGS (8 digits, beginning with the Kreis' five) and name:

        kreis
            ags = 05162
            name = "Rhein-Kreis Neuss"
            members
                05162004 = "Dormagen"
                05162008 = "Grevenbroich"

    The member list is configuration, not code: another Kreis brings its own.

    It is also the CLI's registry of names: tables show a name next to each AGS,
    and a name is accepted where an AGS is (kh_members_find), as people type it:
    any case, an umlaut as ü or ue, the first letters if only one name begins so.
*/
#ifndef KH_MEMBERS_H_INCLUDED
#define KH_MEMBERS_H_INCLUDED

#include <stddef.h>
#include <czmq.h>
#include "kh_cert.h"

typedef struct _kh_members_t kh_members_t;

/* Reads the section 'kreis' of root (NULL, or without the section: the default,
   the Rhein-Kreis Neuss). Returns the list, or NULL with why set: KH_EVALUE for a
   section that names no Kreis or no member, an AGS that is not one (or of a member
   not in the Kreis, or named twice), a name a certificate cannot carry; KH_ENOMEM. */
kh_members_t *kh_members_load (zconfig_t *root, kh_problem_t *why);

/* Frees the list; sets *self_p to NULL. Safe on NULL. */
void kh_members_destroy (kh_members_t **self_p);

/* The Kreis (role kreis), and the number of members. */
const kh_ident_t *kh_members_kreis (const kh_members_t *self);
size_t kh_members_count (const kh_members_t *self);

/* Member index (0 .. count - 1, in the order of the configuration), role
   municipality. */
const kh_ident_t *kh_members_at (const kh_members_t *self, size_t index);

/* The name of the Kreis or member whose AGS is ags, or NULL if it is neither. */
const char *kh_members_name (const kh_members_t *self, const char *ags);

/* The most characters (code points) a name of the Kreis or a member has. */
size_t kh_members_name_width (const kh_members_t *self);

/* Finds whom text names, the Kreis or a member, compared as kh_suggest_fold folds
   (any case, ü as ue): the one whose name is text, else those whose names begin
   with it. Writes them (at most max) into found, in the order of the
   configuration with the Kreis first, and returns how many there are in all (more
   than max if they did not fit); 1 means text names exactly one. */
size_t kh_members_find (const kh_members_t *self, const char *text,
                        const kh_ident_t *found [], size_t max);

/* The same for names near text (kh_suggest_near), or holding it inside (e.g.
   "broich" in Grevenbroich), for "did you mean": nearest first. Returns how many
   it wrote. */
size_t kh_members_near (const kh_members_t *self, const char *text,
                        const kh_ident_t *found [], size_t max);

/* ------------------------------------------------- names in a table column */
/* The width of a column that shows an AGS and its name (self NULL: the AGS
   alone), in characters. */
int kh_members_who_width (const kh_members_t *self);

/* Prints text and blanks after it up to width characters (not bytes). */
void kh_members_pad (FILE *file, const char *text, int width);

/* Prints the AGS ags and its name (if self knows it; a longer one than 20
   characters cut, ending in an ellipsis), padded to width characters. */
void kh_members_who (FILE *file, const kh_members_t *self, const char *ags, int width);

#endif
