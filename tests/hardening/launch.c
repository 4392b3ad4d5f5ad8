/* hc-launch: start a command in a broken or locked-down environment, for the
 * hardening tests (tests/hardening/). Compiled statically at test time, so it
 * also runs inside an empty chroot.
 *
 *   hc-launch [OPTIONS] -- PROGRAM [ARGS...]
 *
 *   --chroot DIR       chroot(DIR), then chdir("/")
 *   --chdir DIR        chdir(DIR) (after --chroot)
 *   --uid N            setgroups(0), setgid(N), setuid(N)
 *   --close FD         close(FD) (repeatable): a closed stdout or stderr
 *   --refuse-netlink E socket(AF_NETLINK, ...) fails with errno E (seccomp)
 *   --silent-netlink   sendto/sendmsg return 0 without sending anything (seccomp):
 *                      a netlink peer that never answers
 *
 * Exit 125 when the launcher itself fails, so no test mistakes that for a
 * verdict of the tool.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define HC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HC_ARCH AUDIT_ARCH_AARCH64
#else
#error "add the AUDIT_ARCH_ of this machine"
#endif

#ifndef AF_NETLINK
#define AF_NETLINK 16
#endif

static void die(const char *what) {
    fprintf(stderr, "hc-launch: %s: %s\n", what, strerror(errno));
    exit(125);
}

#define LOAD(field) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))

static void install(int refuse_errno, int silent) {
    /* args[0] low 32 bits: this filter is only built for little-endian machines */
    struct sock_filter prog[] = {
        LOAD(arch),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, HC_ARCH, 1, 0),
        RET(SECCOMP_RET_ALLOW),
        LOAD(nr),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
        LOAD(args[0]),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 5),
        RET(refuse_errno >= 0 ? SECCOMP_RET_ERRNO | (refuse_errno & SECCOMP_RET_DATA) : SECCOMP_RET_ALLOW),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendto, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sendmsg, 0, 2),
        /* SECCOMP_RET_ERRNO with data 0: the call "returns 0" (nothing sent) */
        RET(silent ? SECCOMP_RET_ERRNO | 0 : SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_ALLOW),
        RET(SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {sizeof(prog) / sizeof(prog[0]), prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("PR_SET_NO_NEW_PRIVS");
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) die("PR_SET_SECCOMP");
}

int main(int argc, char **argv) {
    const char *root = NULL, *dir = NULL;
    int uid = -1, refuse = -1, silent = 0, i;
    int closes[8], nclose = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (i + 1 >= argc && strcmp(a, "--silent-netlink") != 0) { errno = EINVAL; die(a); }
        if (strcmp(a, "--chroot") == 0) root = argv[++i];
        else if (strcmp(a, "--chdir") == 0) dir = argv[++i];
        else if (strcmp(a, "--uid") == 0) uid = atoi(argv[++i]);
        else if (strcmp(a, "--close") == 0 && nclose < 8) closes[nclose++] = atoi(argv[++i]);
        else if (strcmp(a, "--refuse-netlink") == 0) refuse = atoi(argv[++i]);
        else if (strcmp(a, "--silent-netlink") == 0) silent = 1;
        else { errno = EINVAL; die(a); }
    }
    if (i >= argc) { errno = EINVAL; die("no program"); }
    char **prog = argv + i;
    const char *path = prog[0];
    if (root && (chroot(root) != 0 || chdir("/") != 0)) die("chroot");
    if (dir && chdir(dir) != 0) die("chdir");
    if (uid >= 0 && (setgroups(0, NULL) != 0 || setgid(uid) != 0 || setuid(uid) != 0)) die("setuid");
    if (refuse >= 0 || silent) install(refuse, silent);
    for (int k = 0; k < nclose; k++) close(closes[k]);
    execv(path, prog);
    die(path);
    return 125;
}
