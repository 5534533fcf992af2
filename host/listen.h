/* listen: the address an optional server of sweepd listens on, written
 * IP:PORT (127.0.0.1:9180, [::1]:9180, 0.0.0.0:9180): a numeric IPv4 or
 * IPv6 address, never a host name (nothing is resolved: a daemon's
 * listening address must not depend on DNS at start), and a port from 1
 * to 65535. */
#ifndef SWEEPD_LISTEN_H
#define SWEEPD_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* A parsed listening address. */
typedef struct listen_addr {
	struct sockaddr_storage sa;
	socklen_t len;          /* 0: none (not set) */
	unsigned port;
} listen_addr;

int listen_parse(const char *text, listen_addr *out, char *err,
                 size_t errlen);

#endif
