/*  kh_port_test.c - a TCP port held by a listening socket is taken; a free one, a
    wildcard port, another transport and an unknown host are not judged taken. */
#include <czmq.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_port.h"

/* Opens a socket listening on a free loopback port; returns it and sets *port. */
static int
s_listen (int *port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr)
    ||  listen (fd, 4) || getsockname (fd, (struct sockaddr *) &addr, &len)) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    *port = ntohs (addr.sin_port);
    return fd;
}

int
main (void)
{
    int port = 0, fd = s_listen (&port);
    char endpoint [64], any [64], text [16];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    snprintf (any, sizeof any, "tcp://*:%d", port);
    KH_CHECK ("a port another socket listens on is taken", fd >= 0
              && kh_port_taken (endpoint), "%s", endpoint);
    KH_CHECK ("also for a bind to all interfaces", kh_port_taken (any), "%s", any);
    KH_CHECK ("the port of an endpoint is named", streq (kh_port_of (endpoint, text,
              sizeof text), endpoint + 16), "'%s'", text);
    if (fd >= 0)
        close (fd);
    KH_CHECK ("once it is closed, the port is free", !kh_port_taken (endpoint), "%s",
              endpoint);
    const char *unjudged [] = { "tcp://127.0.0.1:*", "tcp://127.0.0.1:!", "ipc:///tmp/kh",
                                "tcp://no-such-host.invalid:7701", "tcp://127.0.0.1",
                                "tcp://127.0.0.1:123456", "", NULL };
    for (int i = 0; unjudged [i]; i++)
        KH_CHECK ("what cannot be judged is not taken", !kh_port_taken (unjudged [i]),
                  "'%s'", unjudged [i]);
    KH_CHECK ("an endpoint without a port has none", !*kh_port_of ("ipc:///tmp/kh", text,
              sizeof text) && streq (kh_port_of ("tcp://h:*", text, sizeof text), "*"),
              "'%s'", text);
    return kh_check_done ("port_test");
}
