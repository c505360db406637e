/*  kh_port.c - is a TCP endpoint's port taken here? (see kh_port.h) */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kh_port.h"

#define S_TCP   "tcp://"

char *
kh_port_of (const char *endpoint, char *out, size_t cap)
{
    const char *colon = strncmp (endpoint, S_TCP, strlen (S_TCP)) == 0
                      ? strrchr (endpoint + strlen (S_TCP), ':') : NULL;
    snprintf (out, cap, "%s", colon ? colon + 1 : "");
    return out;
}

/* Splits a tcp:// endpoint with a numeric port into host (NULL for "*") and port.
   Returns 0, or -1 if it is not one. */
static int
s_split (const char *endpoint, char *host, size_t cap, char *port, size_t port_cap)
{
    kh_port_of (endpoint, port, port_cap);
    size_t digits = strspn (port, "0123456789");
    if (!*port || port [digits] || digits > 5)
        return -1;
    const char *start = endpoint + strlen (S_TCP);
    size_t len = strlen (start) - strlen (port) - 1;
    if (len >= 2 && start [0] == '[' && start [len - 1] == ']') {
        start++;                        /* [::1] */
        len -= 2;
    }
    if (len >= cap)
        return -1;
    memcpy (host, start, len);
    host [len] = 0;
    return 0;
}

/* Picks the address libzmq would bind: the first IPv4 one, else the first. */
static const struct addrinfo *
s_pick (const struct addrinfo *list)
{
    for (const struct addrinfo *a = list; a; a = a->ai_next)
        if (a->ai_family == AF_INET)
            return a;
    return list;
}

bool
kh_port_taken (const char *endpoint)
{
    char host [256], port [16];
    if (!endpoint || s_split (endpoint, host, sizeof host, port, sizeof port))
        return false;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *list = NULL;
    bool wildcard = strcmp (host, "*") == 0;
    if (getaddrinfo (wildcard ? NULL : host, port, &hints, &list) || !list)
        return false;
    const struct addrinfo *addr = s_pick (list);
    int fd = socket (addr->ai_family, addr->ai_socktype | SOCK_CLOEXEC, addr->ai_protocol);
    int on = 1;
    bool taken = fd >= 0
              && setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0
              && bind (fd, addr->ai_addr, addr->ai_addrlen) == -1 && errno == EADDRINUSE;
    if (fd >= 0)
        close (fd);
    freeaddrinfo (list);
    return taken;
}
