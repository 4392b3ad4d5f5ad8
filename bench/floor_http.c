/* Benchmark floor (not shipped): the least a static program does to ask an
 * HTTP service on loopback whether it is healthy, the exchange `HTTP
 * PORT/PATH` has once the kernel has said yes (it skips that question).
 *   floor_http PORT [PATH] [-k]     (PATH: /healthz)
 * With -k it asks the kernel first, as `HTTP` does, the way floor_netlink
 * asks (its lookup, then the LISTEN dumps with the port filter): nothing
 * listening is exit 1 before any connection. That is the least a check
 * that asks the kernel first can do, written in C.
 * One HTTP/1.1 GET with Connection: close to 127.0.0.1:PORT, then only as
 * much of the answer as the status line: exit 0 for a 2xx or 3xx status,
 * 1 for any other, a refused or failed connection, or 2 s without an
 * answer. What it leaves unread is dropped at exit (the kernel resets). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#define FLOOR_NETLINK_NO_MAIN
#include "floor_netlink.c"

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    int port = atoi(argv[1]);
    if (port < 1 || port > 65535) return 1;
    if (argc > 3 && strcmp(argv[3], "-k") == 0 && !netlink_listening(0, port, 1, 1)) return 1;
    char req[300];
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                       argc > 2 ? argv[2] : "/healthz", port);
    if (len < 0 || len >= (int)sizeof req) return 1;

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1;
    struct timeval tv = {2, 0}; /* SO_SNDTIMEO also bounds the blocking connect() */
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return 1;
    for (int sent = 0; sent < len;) {
        ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0) return 1;
        sent += n;
    }

    /* "HTTP/1.x NNN ...\r\n": a status line longer than the buffer is not one we take. */
    char line[256];
    size_t have = 0;
    while (!memchr(line, '\n', have)) {
        if (have == sizeof line) return 1;
        ssize_t n = recv(fd, line + have, sizeof line - have, 0);
        if (n <= 0) return 1;
        have += n;
    }
    if (have < 13 || memcmp(line, "HTTP/1.", 7) || line[7] < '0' || line[7] > '9' || line[8] != ' ') return 1;
    for (int i = 9; i < 12; i++)
        if (line[i] < '0' || line[i] > '9') return 1;
    if (line[12] != ' ' && line[12] != '\r' && line[12] != '\n') return 1;
    return line[9] == '2' || line[9] == '3' ? 0 : 1;
}
