/*  kh_members.c - the Kreis and its members from the configuration (see kh_members.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "kh_codec.h"
#include "kh_members.h"
#include "kh_suggest.h"

#define S_KREIS_LEN     5               /* digits of a Kreisschluessel */
#define S_MEMBER_LEN    8               /* digits of a municipality's AGS */
#define S_NAME_MAX      20              /* characters of a name in a table, at most */

struct _kh_members_t {
    kh_ident_t  kreis;
    kh_ident_t *members;                /* count of them, in the configuration's order */
    size_t      count;
};

/* The default: the Rhein-Kreis Neuss and its municipalities (AGS from the annex of
   the MietNEinV, BGBl. I 2021, territory as of 25.01.2021). */
static const char *const s_default [][2] = {
    { "05162", "Rhein-Kreis Neuss" },
    { "05162004", "Dormagen" }, { "05162008", "Grevenbroich" },
    { "05162012", "Jüchen" }, { "05162016", "Kaarst" },
    { "05162020", "Korschenbroich" }, { "05162022", "Meerbusch" },
    { "05162024", "Neuss" }, { "05162028", "Rommerskirchen" }
};

/* Fills ident with ags, name and role after checking them (what says where they
   come from, for the reason). Returns 0, or -1 with why set. */
static int
s_ident (kh_ident_t *ident, const char *ags, const char *name, kh_role_t role,
         const char *what, kh_problem_t *why)
{
    size_t want = role == KH_ROLE_KREIS ? S_KREIS_LEN : S_MEMBER_LEN;
    size_t len = ags ? strlen (ags) : 0;
    if (!ags || len != want || !kh_ags_valid (ags, len))
        return kh_problem (why, KH_EVALUE, "%s: '%.20s' is not an AGS of %zu digits", what,
                           ags ? ags : "", want);
    if (!kh_cert_name_valid (name))
        return kh_problem (why, KH_EVALUE, "%s %s: give a name of 1 to %d bytes without "
                           "quotes or control characters", what, ags, KH_CERT_NAME_MAX);
    snprintf (ident->ags, sizeof ident->ags, "%s", ags);
    snprintf (ident->name, sizeof ident->name, "%s", name);
    ident->role = role;
    return 0;
}

/* Adds a member to self after checking it belongs to the Kreis and is new. Returns
   0, or -1 with why set. */
static int
s_add (kh_members_t *self, const char *ags, const char *name, size_t cap, kh_problem_t *why)
{
    assert (self->count < cap);
    kh_ident_t *member = &self->members [self->count];
    if (s_ident (member, ags, name, KH_ROLE_MUNICIPALITY, "kreis/members", why))
        return -1;
    if (strncmp (ags, self->kreis.ags, S_KREIS_LEN))
        return kh_problem (why, KH_EVALUE, "kreis/members: %s (%s) is not in the Kreis "
                           "%s: its AGS must begin with %s", ags, member->name,
                           self->kreis.ags, self->kreis.ags);
    for (size_t i = 0; i < self->count; i++)
        if (streq (self->members [i].ags, ags))
            return kh_problem (why, KH_EVALUE, "kreis/members: %s is named twice", ags);
    self->count++;
    return 0;
}

/* Fills self from the section kreis of root. Returns 0, or -1 with why set. */
static int
s_read (kh_members_t *self, zconfig_t *kreis, kh_problem_t *why)
{
    if (s_ident (&self->kreis, zconfig_get (kreis, "ags", NULL),
                 zconfig_get (kreis, "name", NULL), KH_ROLE_KREIS, "kreis/ags, kreis/name",
                 why))
        return -1;
    zconfig_t *list = zconfig_locate (kreis, "members");
    size_t cap = 0;
    for (zconfig_t *item = list ? zconfig_child (list) : NULL; item; item = zconfig_next (item))
        cap++;
    if (cap == 0)
        return kh_problem (why, KH_EVALUE, "kreis/members: the Kreis %s has no members "
                           "(give each as AGS = \"Name\")", self->kreis.ags);
    self->members = (kh_ident_t *) calloc (cap, sizeof *self->members);
    if (!self->members)
        return kh_problem (why, KH_ENOMEM, "out of memory");
    for (zconfig_t *item = zconfig_child (list); item; item = zconfig_next (item))
        if (s_add (self, zconfig_name (item), zconfig_value (item), cap, why))
            return -1;
    return 0;
}

/* Fills self with the default. Returns 0, or -1 with why set. */
static int
s_default_members (kh_members_t *self, kh_problem_t *why)
{
    size_t cap = sizeof s_default / sizeof s_default [0] - 1;
    self->members = (kh_ident_t *) calloc (cap, sizeof *self->members);
    if (!self->members)
        return kh_problem (why, KH_ENOMEM, "out of memory");
    int rc = s_ident (&self->kreis, s_default [0][0], s_default [0][1], KH_ROLE_KREIS,
                      "kreis", why);
    for (size_t i = 0; rc == 0 && i < cap; i++)
        rc = s_add (self, s_default [i + 1][0], s_default [i + 1][1], cap, why);
    return rc;
}

kh_members_t *
kh_members_load (zconfig_t *root, kh_problem_t *why)
{
    kh_members_t *self = (kh_members_t *) calloc (1, sizeof *self);
    if (!self) {
        kh_problem (why, KH_ENOMEM, "out of memory");
        return NULL;
    }
    zconfig_t *kreis = root ? zconfig_locate (root, "kreis") : NULL;
    if (kreis ? s_read (self, kreis, why) : s_default_members (self, why))
        kh_members_destroy (&self);
    return self;
}

void
kh_members_destroy (kh_members_t **self_p)
{
    kh_members_t *self = self_p ? *self_p : NULL;
    if (!self)
        return;
    free (self->members);
    free (self);
    *self_p = NULL;
}

const kh_ident_t *
kh_members_kreis (const kh_members_t *self)
{
    assert (self);
    return &self->kreis;
}

size_t
kh_members_count (const kh_members_t *self)
{
    assert (self);
    return self->count;
}

const kh_ident_t *
kh_members_at (const kh_members_t *self, size_t index)
{
    assert (self && index < self->count);
    return &self->members [index];
}

/* The Kreis (index 0) and the members (1 ..), one list for the lookups. */
static const kh_ident_t *
s_ident_at (const kh_members_t *self, size_t index)
{
    return index ? &self->members [index - 1] : &self->kreis;
}

const char *
kh_members_name (const kh_members_t *self, const char *ags)
{
    assert (self);
    for (size_t i = 0; ags && i <= self->count; i++)
        if (streq (s_ident_at (self, i)->ags, ags))
            return s_ident_at (self, i)->name;
    return NULL;
}

size_t
kh_members_name_width (const kh_members_t *self)
{
    assert (self);
    size_t width = 0;
    for (size_t i = 0; i <= self->count; i++) {
        size_t chars = kh_suggest_length (s_ident_at (self, i)->name);
        width = chars > width ? chars : width;
    }
    return width;
}

size_t
kh_members_find (const kh_members_t *self, const char *text, const kh_ident_t *found [],
                 size_t max)
{
    assert (self && text);
    char typed [4 * KH_CERT_NAME_MAX + 8], name [4 * KH_CERT_NAME_MAX + 8];
    kh_suggest_fold (text, typed, sizeof typed);
    size_t len = strlen (typed), count = 0;
    for (size_t i = 0; len && i <= self->count; i++) {
        kh_suggest_fold (s_ident_at (self, i)->name, name, sizeof name);
        if (streq (name, typed)) {
            if (max)
                found [0] = s_ident_at (self, i);
            return 1;
        }
        if (strncmp (name, typed, len) == 0 && count++ < max)
            found [count - 1] = s_ident_at (self, i);
    }
    return count;
}

size_t
kh_members_near (const kh_members_t *self, const char *text, const kh_ident_t *found [],
                 size_t max)
{
    assert (self && text);
    const char **names = (const char **) calloc (self->count + 1, sizeof *names);
    size_t index [16], count = 0;
    for (size_t i = 0; names && i <= self->count; i++)
        names [i] = s_ident_at (self, i)->name;
    if (names)
        count = kh_suggest_all (text, names, self->count + 1, index, max < 16 ? max : 16);
    free (names);
    for (size_t i = 0; i < count; i++)
        found [i] = s_ident_at (self, index [i]);
    char typed [4 * KH_CERT_NAME_MAX + 8], name [4 * KH_CERT_NAME_MAX + 8];
    kh_suggest_fold (text, typed, sizeof typed);
    for (size_t i = 0; *typed && i <= self->count && count < max; i++) {
        kh_suggest_fold (s_ident_at (self, i)->name, name, sizeof name);
        bool known = false;
        for (size_t k = 0; k < count; k++)
            known |= found [k] == s_ident_at (self, i);
        if (!known && strstr (name, typed))
            found [count++] = s_ident_at (self, i);
    }
    return count;
}

/* ------------------------------------------------- names in a table column */

int
kh_members_who_width (const kh_members_t *self)
{
    size_t width = self ? kh_members_name_width (self) : 0;
    width = width > S_NAME_MAX ? S_NAME_MAX : width;
    return KH_AGS_MAX + (width ? 1 + (int) width : 0);
}

void
kh_members_pad (FILE *file, const char *text, int width)
{
    int chars = (int) kh_suggest_length (text);
    fprintf (file, "%s%*s", text, width > chars ? width - chars : 0, "");
}

void
kh_members_who (FILE *file, const kh_members_t *self, const char *ags, int width)
{
    const char *name = self ? kh_members_name (self, ags) : NULL;
    char text [KH_AGS_MAX + 2 + 4 * S_NAME_MAX + 4];
    int len = snprintf (text, KH_AGS_MAX + 3, "%s%s", ags, name ? " " : "");
    size_t n = len < 0 ? 0 : len > KH_AGS_MAX + 2 ? KH_AGS_MAX + 2 : (size_t) len;
    size_t chars = name ? kh_suggest_length (name) : 0;
    size_t keep = chars > S_NAME_MAX ? S_NAME_MAX - 1 : chars;
    for (size_t c = 0; name && *name; name++) {
        if (((unsigned char) *name & 0xc0) != 0x80 && c++ == keep)
            break;
        text [n++] = *name;
    }
    if (chars > keep) {
        memcpy (text + n, "\xe2\x80\xa6", 3);
        n += 3;
    }
    text [n] = 0;
    kh_members_pad (file, text, width);
}
