/* listen: the address an optional server of sweepd listens on, written
 * IP:PORT (127.0.0.1:9180, [::1]:9180, 0.0.0.0:9180): a numeric IPv4 or
 * IPv6 address, never a host name (nothing is resolved: a daemon's
 * listening address must not depend on DNS at start), and a port from 1
 * to 65535. */
#include "listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The example every message ends with. */
#define LISTEN_EXAMPLE "write IP:PORT, e.g. 127.0.0.1:9180 or [::1]:9180"

/* Parses the port text p (digits only, 1..65535) into *port; 0, or -1
 * with err set. */
static int listen_port(const char *text, const char *p, unsigned *port,
                       char *err, size_t errlen)
{
	unsigned long v = 0;
	const char *q;

	for (q = p; *q >= '0' && *q <= '9' && v <= 65535; q++)
		v = v * 10 + (unsigned long)(*q - '0');
	if (*p == '\0') {
		snprintf(err, errlen, "'%s' has no port; " LISTEN_EXAMPLE,
		         text);
		return -1;
	}
	if (*q != '\0' || v == 0 || v > 65535) {
		snprintf(err, errlen, "'%s': port '%s' is not a number from 1 "
		         "to 65535; " LISTEN_EXAMPLE, text, p);
		return -1;
	}
	*port = (unsigned)v;
	return 0;
}

/* Splits text into its host part (copied to host) and its port text;
 * "[v6]:port" or "v4:port".  NULL, with err set, when there is no port. */
static const char *listen_split(const char *text, char *host, size_t hostlen,
                                char *err, size_t errlen)
{
	const char *colon, *start = text, *end;

	if (*text == '[') {
		start = text + 1;
		end = strchr(start, ']');
		colon = end && end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(text, ':');
		end = colon;
		if (colon && strchr(text, ':') != colon)
			colon = end = NULL;     /* a bare IPv6 address */
	}
	if (colon == NULL) {
		snprintf(err, errlen, "'%s' has no port (an IPv6 address goes "
		         "in brackets); " LISTEN_EXAMPLE, text);
		return NULL;
	}
	if ((size_t)(end - start) >= hostlen) {
		snprintf(err, errlen, "'%s' is not an IP address and port; "
		         LISTEN_EXAMPLE, text);
		return NULL;
	}
	memcpy(host, start, (size_t)(end - start));
	host[end - start] = '\0';
	return colon + 1;
}

/* Parses text, IP:PORT, into *out.  0, or -1 with err set to a message
 * that says what is wrong and what to write instead. */
int listen_parse(const char *text, listen_addr *out, char *err,
                 size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct sockaddr_in *v4 = (struct sockaddr_in *)&out->sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->sa;
	const char *port;
	bool bracket = text[0] == '[';

	memset(out, 0, sizeof(*out));
	port = listen_split(text, host, sizeof(host), err, errlen);
	if (port == NULL ||
	    listen_port(text, port, &out->port, err, errlen) != 0)
		return -1;
	if (!bracket && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)out->port);
		out->len = sizeof(*v4);
		return 0;
	}
	if (bracket && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)out->port);
		out->len = sizeof(*v6);
		return 0;
	}
	snprintf(err, errlen, "'%s' is not a numeric IP address (host names "
	         "are not resolved); " LISTEN_EXAMPLE ", or 0.0.0.0:9180 for "
	         "every interface", host);
	memset(out, 0, sizeof(*out));
	return -1;
}
