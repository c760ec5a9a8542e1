#define _GNU_SOURCE
#include "CZestShims.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

int zest_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) { return accept4(fd, addr, len, flags); }
int zest_setns(int fd, int nstype) { return setns(fd, nstype); }
int zest_unshare(int flags) { return unshare(flags); }
int zest_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }
ssize_t zest_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}
int zest_gettid(void) { return (int)syscall(SYS_gettid); }

int zest_original_dst4(int fd, struct sockaddr_in *out) {
    socklen_t len = sizeof(*out);
    return getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, out, &len);
}

int zest_original_dst6(int fd, struct sockaddr_in6 *out) {
    socklen_t len = sizeof(*out);
    return getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, out, &len);
}

int zest_const_CLONE_NEWNET(void) { return CLONE_NEWNET; }
unsigned int zest_const_SPLICE_F_MOVE(void) { return SPLICE_F_MOVE; }
unsigned int zest_const_SPLICE_F_NONBLOCK(void) { return SPLICE_F_NONBLOCK; }
unsigned int zest_const_SPLICE_F_MORE(void) { return SPLICE_F_MORE; }
int zest_const_SO_ORIGINAL_DST(void) { return SO_ORIGINAL_DST; }
int zest_const_IP_TRANSPARENT(void) { return IP_TRANSPARENT; }
int zest_const_IPV6_TRANSPARENT(void) { return IPV6_TRANSPARENT; }
int zest_const_SO_MARK(void) { return SO_MARK; }
int zest_const_SO_REUSEPORT(void) { return SO_REUSEPORT; }
int zest_const_F_SETPIPE_SZ(void) { return F_SETPIPE_SZ; }
