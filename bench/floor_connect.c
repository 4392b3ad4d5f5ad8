/* Benchmark reference (not shipped): the usual connect() probe, as a minimal
 * static C program.  floor_connect PORT -> exit 0 when a TCP connect() to
 * 127.0.0.1:PORT completes within 1 s, else 1.  Unlike the tools it sends the
 * service a handshake and a reset, passes a server whose accept queue is not
 * yet full whether or not it accepts, and cannot tell anything about UDP. */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

int main(int argc, char **argv) {
    if (argc < 2) return 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 1;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct linger lg = {1, 0}; /* close with a reset: no TIME_WAIT left per run */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)atoi(argv[1]));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : 1;
}
