// Part of the "healthcheck" MicroPython variant (static/README.md).
// The health check never resolves names. These stubs keep musl's DNS resolver
// (and its reads of /etc/resolv.conf, /etc/hosts, /etc/services) out of the
// static binary: socket.getaddrinfo() raises OSError instead.
#include <stddef.h>
#include <netdb.h>

int getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res) {
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    return EAI_FAIL;
}

void freeaddrinfo(struct addrinfo *res) {
    (void)res;
}
