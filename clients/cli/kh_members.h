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

#endif
