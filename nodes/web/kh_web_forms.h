/*  kh_web_forms.h - kreishub-web's forms: signing in and out, and acting for the
    signed-in user's municipality (publish an item, respond to one, change its status).

    kh_web_forms_attach adds the routes and sets the server's auth hook, which finds
    a request's session by its cookie (kh_web_auth.h) and sends a browser without one
    to the sign-in page:

      GET  /login   the sign-in form (with a pre-session token)   POST /login
      GET  /logout  asks to confirm                               POST /logout
      GET  /new     a new offer, idea or request (the Kreis: an announcement too)
      POST /new
      GET  /act?item=UUID   respond to the item, change its status   POST /act

    Every form carries its CSRF token and every POST checks it first (403 without
    it). An action is published through the broker's client endpoint with the
    certificate of the session's AGS (the server's config certs: DIR/AGS.cert_secret),
    never an AGS the form
    names, so that the broker applies the same rules and audit as for the CLI; the
    answer page tells the hub's verdict in German, with the hub's code and reason.
    A hub in plain mode (the server made without a certificate) is sent the
    session's AGS as the sender, unauthenticated, as the CLI does then.
*/
#ifndef KH_WEB_FORMS_H_INCLUDED
#define KH_WEB_FORMS_H_INCLUDED

#include "kh_web.h"
#include "kh_web_auth.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _kh_web_forms_t kh_web_forms_t;

/* Creates the forms over gate (which must outlive them). Returns NULL out of
   memory. */
kh_web_forms_t *kh_web_forms_new (kh_web_gate_t *gate);

/* Frees the forms; sets *self_p to NULL. Safe on NULL. Call after kh_web_destroy. */
void kh_web_forms_destroy (kh_web_forms_t **self_p);

/* Adds the routes above to web and makes the forms web's auth hook. Call before
   the first request. Returns 0, or -1 as kh_web_add_routes. */
int kh_web_forms_attach (kh_web_forms_t *self, kh_web_t *web);

#ifdef __cplusplus
}
#endif
#endif
