/*  kh_port.h - whether the TCP port of an endpoint is taken here, asked before
    `kreishub up` starts anything, so that it can name a taken port and publish
    nowhere.

    Only tcp://HOST:PORT with a numeric port is judged, by binding a socket to it the
    way libzmq binds (SO_REUSEADDR) and closing it at once. A wildcard port, another
    transport, or a host that does not resolve is not judged here: the broker, which
    binds for real, says what is wrong with it.
*/
#ifndef KH_PORT_H_INCLUDED
#define KH_PORT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

/* True if endpoint names a TCP port that another socket holds (a bind fails with
   EADDRINUSE); false if it is free or cannot be judged. */
bool kh_port_taken (const char *endpoint);

/* Writes the port of a tcp:// endpoint ("7701", or "*") into out (cap bytes); ""
   if endpoint has none. Returns out. */
char *kh_port_of (const char *endpoint, char *out, size_t cap);

#endif
