/* Benchmark floor (not shipped): the least a static program can do to answer
 * "is PORT listening?" over NETLINK_SOCK_DIAG, the way the tools ask the kernel
 * (docs/rules.md, "Asking the kernel").
 *   floor_netlink tcp|udp PORT [-b] [-l]
 * IPv4 question: AF_INET dump, then AF_INET6 (dual-stack sockets, v6only off).
 * State filter 1<<TCP_LISTEN (tcp) or 1<<TCP_CLOSE (udp). With -b the kernel
 * also filters on the local port (inet_diag bytecode). With -l it first asks
 * what the tools ask first: the kernel's lookup of the wildcard socket on
 * PORT (a request without NLM_F_DUMP; netlink.build_lookup), and dumps only
 * when there is none. Exit 0 found, 1 not. */
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { LISTEN = 10, CLOSE = 7 };
static char buf[32768];

static int query(int fd, int family, int proto, int states, int port, int bc) {
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
        struct rtattr ra;
        struct inet_diag_bc_op op[2]; /* S_EQ followed by its port operand */
    } q;
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = bc ? sizeof q : NLMSG_LENGTH(sizeof q.r);
    q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    q.r.sdiag_family = family;
    q.r.sdiag_protocol = proto;
    q.r.idiag_states = 1u << states;
    q.ra.rta_type = INET_DIAG_REQ_BYTECODE;
    q.ra.rta_len = RTA_LENGTH(sizeof q.op);
    q.op[0] = (struct inet_diag_bc_op){INET_DIAG_BC_S_EQ, sizeof q.op, sizeof q.op + 4};
    q.op[1].no = port;
    if (send(fd, &q, q.nh.nlmsg_len, 0) < 0) exit(1);
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) exit(1);
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) return 0;
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) exit(1);
            struct inet_diag_msg *m = NLMSG_DATA(h);
            if (ntohs(m->id.idiag_sport) != port) continue;
            if (family == AF_INET) return 1;
            int alen = h->nlmsg_len - NLMSG_LENGTH(sizeof *m), v6only = 1;
            for (struct rtattr *a = (void *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen))
                if (a->rta_type == INET_DIAG_SKV6ONLY) v6only = *(unsigned char *)RTA_DATA(a);
            if (!v6only) return 1;
        }
    }
}

/* The kernel's own lookup: TCP takes PORT as the socket's end (sport), UDP
 * as the datagram's destination (dport). Found: a message of the socket. */
static int lookup(int fd, int proto, int port) {
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
    } q;
    memset(&q, 0, sizeof q);
    q.nh.nlmsg_len = sizeof q;
    q.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nh.nlmsg_flags = NLM_F_REQUEST;
    q.r.sdiag_family = AF_INET;
    q.r.sdiag_protocol = proto;
    q.r.idiag_states = ~0u;
    if (proto == IPPROTO_TCP) q.r.id.idiag_sport = htons(port); else q.r.id.idiag_dport = htons(port);
    q.r.id.idiag_cookie[0] = q.r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    if (send(fd, &q, sizeof q, 0) < 0) exit(1);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 && ((struct nlmsghdr *)buf)->nlmsg_type == SOCK_DIAG_BY_FAMILY;
}

/* The whole question: 1 when PORT is listening, 0 when not. */
static int netlink_listening(int udp, int port, int bc, int lk) {
    int proto = udp ? IPPROTO_UDP : IPPROTO_TCP, states = udp ? CLOSE : LISTEN;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) exit(1);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int found = (lk && lookup(fd, proto, port)) || query(fd, AF_INET, proto, states, port, bc)
                || query(fd, AF_INET6, proto, states, port, bc);
    close(fd);
    return found;
}

/* floor_http.c -k includes this file for the question alone. */
#ifndef FLOOR_NETLINK_NO_MAIN
int main(int argc, char **argv) {
    if (argc < 3) return 1;
    int bc = 0, lk = 0;
    for (int i = 3; i < argc; i++) {
        bc |= strcmp(argv[i], "-b") == 0;
        lk |= strcmp(argv[i], "-l") == 0;
    }
    return netlink_listening(strcmp(argv[1], "udp") == 0, atoi(argv[2]), bc, lk) ? 0 : 1;
}
#endif
