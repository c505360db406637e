/*  kh_keys.c - kh_keys_t: the certificate a client connects with and the hub's public
    key, as CURVE needs them (see kreishub.h). */
#include <string.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_cert.h"
#include "kh_client_priv.h"

#define S_Z85_SIZE  41                  /* a 32-byte key in Z85, and its NUL */

struct _kh_keys_t {
    char public_txt [S_Z85_SIZE];       /* ours */
    char secret_txt [S_Z85_SIZE];       /* ours; wiped on destroy */
    char server_txt [S_Z85_SIZE];       /* the hub's public key */
    char ags [KH_AGS_MAX + 1];          /* what our certificate says, as it says it */
    char name [KH_CERT_NAME_MAX + 1];
    char role [16];
};

/* Copies the metadata value name of cert into out (cap bytes); "" if it has none or
   it does not fit. */
static void
s_meta (zcert_t *cert, const char *name, char *out, size_t cap)
{
    const char *value = zcert_meta (cert, name);
    if (!value || strlen (value) >= cap)
        value = "";
    snprintf (out, cap, "%s", value);
}

kh_keys_t *
kh_keys_load (const char *cert_file, const char *server_cert_file, kh_problem_t *why)
{
    zcert_t *ours = kh_cert_load (cert_file, true, why);
    zcert_t *server = ours ? kh_cert_load (server_cert_file, false, why) : NULL;
    kh_keys_t *self = server ? (kh_keys_t *) calloc (1, sizeof *self) : NULL;
    if (self) {
        snprintf (self->public_txt, sizeof self->public_txt, "%s", zcert_public_txt (ours));
        snprintf (self->secret_txt, sizeof self->secret_txt, "%s", zcert_secret_txt (ours));
        snprintf (self->server_txt, sizeof self->server_txt, "%s", zcert_public_txt (server));
        s_meta (ours, KH_CERT_AGS, self->ags, sizeof self->ags);
        s_meta (ours, KH_CERT_NAME, self->name, sizeof self->name);
        s_meta (ours, KH_CERT_ROLE, self->role, sizeof self->role);
    }
    else
    if (server)
        kh_problem (why, KH_ENOMEM, "out of memory");
    zcert_destroy (&ours);
    zcert_destroy (&server);
    return self;
}

void
kh_keys_destroy (kh_keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    explicit_bzero ((*self_p)->secret_txt, sizeof (*self_p)->secret_txt);
    free (*self_p);
    *self_p = NULL;
}

const char *
kh_keys_ags (const kh_keys_t *self)
{
    return self ? self->ags : "";
}

const char *
kh_keys_name (const kh_keys_t *self)
{
    return self ? self->name : "";
}

const char *
kh_keys_role (const kh_keys_t *self)
{
    return self ? self->role : "";
}

const char *
kh_keys_public (const kh_keys_t *self)
{
    return self ? self->public_txt : "";
}

void
kh__keys_apply (const kh_keys_t *self, zsock_t *sock)
{
    assert (self && sock);
    zsock_set_curve_publickey (sock, self->public_txt);
    zsock_set_curve_secretkey (sock, self->secret_txt);
    zsock_set_curve_serverkey (sock, self->server_txt);
}
