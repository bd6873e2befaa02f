/* addr.c - parse and print endpoint specs. No I/O and no name resolution here. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "i18n.h"

const char *addr_transport_name(enum addr_transport transport)
{
	switch (transport) {
	case ADDR_TCP:
		return "tcp";
	case ADDR_UDP:
		return "udp";
	case ADDR_UNIX:
		return "unix";
	}
	return "?";
}

static int parse_port(const char *text, uint16_t *port, const char *whole, char *err, size_t errlen)
{
	if (*text == '\0') {
		snprintf(err, errlen, _("bad address '%s': missing port"), whole);
		return -1;
	}
	unsigned long value = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(err, errlen, _("bad address '%s': port '%s' is not a number"),
				 whole, text);
			return -1;
		}
		value = value * 10 + (unsigned long)(*p - '0');
		if (value > 65535) {
			snprintf(err, errlen,
				 _("bad address '%s': port %s is out of range (0-65535)"), whole,
				 text);
			return -1;
		}
	}
	*port = (uint16_t)value;
	return 0;
}

static int parse_host(const char *host, size_t len, bool bracketed, char *out, const char *whole,
		      char *err, size_t errlen)
{
	if (len > ADDR_HOST_MAX) {
		snprintf(err, errlen, _("bad address '%s': host name longer than %d bytes"), whole,
			 ADDR_HOST_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)host[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' ||
			  (bracketed && (c == ':' || c == '%'));
		if (!ok) {
			snprintf(err, errlen, _("bad address '%s': invalid character in host"),
				 whole);
			return -1;
		}
	}
	if (bracketed && memchr(host, ':', len) == NULL) {
		snprintf(err, errlen, _("bad address '%s': brackets are for IPv6 addresses"),
			 whole);
		return -1;
	}
	memcpy(out, host, len);
	out[len] = '\0';
	return 0;
}

int addr_parse(const char *text, enum addr_transport default_transport, struct addr_spec *out,
	       char *err, size_t errlen)
{
	struct addr_spec spec = {.transport = default_transport};
	const char *rest = text;

	if (strncmp(text, "tcp:", 4) == 0) {
		spec.transport = ADDR_TCP;
		rest = text + 4;
	} else if (strncmp(text, "udp:", 4) == 0) {
		spec.transport = ADDR_UDP;
		rest = text + 4;
	} else if (strncmp(text, "unix:", 5) == 0) {
		spec.transport = ADDR_UNIX;
		rest = text + 5;
		size_t len = strlen(rest);
		if (len == 0 || (len == 1 && rest[0] == '@')) {
			snprintf(err, errlen, _("bad address '%s': missing socket path"), text);
			return -1;
		}
		if (len > ADDR_PATH_MAX) {
			snprintf(err, errlen,
				 _("bad address '%s': socket path longer than %d bytes"), text,
				 ADDR_PATH_MAX);
			return -1;
		}
		memcpy(spec.path, rest, len + 1);
		*out = spec;
		return 0;
	}
	if (spec.transport == ADDR_UNIX) {
		snprintf(err, errlen, _("bad address '%s': expected unix:/path"), text);
		return -1;
	}

	const char *host = rest, *colon;
	size_t hostlen;
	bool bracketed = false;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL) {
			snprintf(err, errlen, _("bad address '%s': missing ']'"), text);
			return -1;
		}
		host = rest + 1;
		hostlen = (size_t)(close - host);
		bracketed = true;
		if (close[1] != ':') {
			snprintf(err, errlen, _("bad address '%s': expected ':PORT' after ']'"),
				 text);
			return -1;
		}
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL) {
			snprintf(err, errlen,
				 _("bad address '%s': expected HOST:PORT, [IPV6]:PORT or "
				   "unix:/path"),
				 text);
			return -1;
		}
		hostlen = (size_t)(colon - rest);
		if (memchr(rest, ':', hostlen) != NULL) {
			snprintf(err, errlen,
				 _("bad address '%s': write IPv6 addresses as [%.*s]:PORT"), text,
				 (int)hostlen, rest);
			return -1;
		}
	}
	if (parse_host(host, hostlen, bracketed, spec.host, text, err, errlen) < 0)
		return -1;
	if (parse_port(colon + 1, &spec.port, text, err, errlen) < 0)
		return -1;
	*out = spec;
	return 0;
}

int addr_parse_host_port(const char *host, const char *port, enum addr_transport transport,
			 struct addr_spec *out, char *err, size_t errlen)
{
	char joined[ADDR_TEXT_MAX + 16];
	bool v6 = strchr(host, ':') != NULL && host[0] != '[';
	int n = snprintf(joined, sizeof(joined), "%s:%s%s%s:%s", addr_transport_name(transport),
			 v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= sizeof(joined)) {
		snprintf(err, errlen, _("bad address '%s %s': too long"), host, port);
		return -1;
	}
	return addr_parse(joined, transport, out, err, errlen);
}

int addr_format(const struct addr_spec *spec, char *out, size_t outlen)
{
	int n;
	if (spec->transport == ADDR_UNIX)
		n = snprintf(out, outlen, "unix:%s", spec->path);
	else if (strchr(spec->host, ':') != NULL)
		n = snprintf(out, outlen, "%s:[%s]:%u", addr_transport_name(spec->transport),
			     spec->host, spec->port);
	else
		n = snprintf(out, outlen, "%s:%s:%u", addr_transport_name(spec->transport),
			     spec->host, spec->port);
	return n < 0 ? 0 : n;
}
