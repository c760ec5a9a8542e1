#ifndef ZEST_CZESTSHIMS_H
#define ZEST_CZESTSHIMS_H

/* Linux declarations Swift's Glibc module does not cover (shared/C-INTEROP.md 3.2). */
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

int zest_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int zest_setns(int fd, int nstype);
int zest_unshare(int flags);
int zest_pipe2(int fds[2], int flags);
ssize_t zest_splice(int fd_in, int fd_out, size_t len, unsigned int flags);
int zest_gettid(void);

/* getsockopt(SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST); 0 on success, -1 with errno otherwise. */
int zest_original_dst4(int fd, struct sockaddr_in *out);
int zest_original_dst6(int fd, struct sockaddr_in6 *out);

/* Constants that arrive through macros or _GNU_SOURCE only. */
int zest_const_CLONE_NEWNET(void);
unsigned int zest_const_SPLICE_F_MOVE(void);
unsigned int zest_const_SPLICE_F_NONBLOCK(void);
unsigned int zest_const_SPLICE_F_MORE(void);
int zest_const_SO_ORIGINAL_DST(void);
int zest_const_IP_TRANSPARENT(void);
int zest_const_IPV6_TRANSPARENT(void);
int zest_const_SO_MARK(void);
int zest_const_SO_REUSEPORT(void);
int zest_const_F_SETPIPE_SZ(void);
#include "CZestShims+Unix.h"

#endif
