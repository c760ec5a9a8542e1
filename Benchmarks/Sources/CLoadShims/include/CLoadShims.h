#ifndef CLOADSHIMS_H
#define CLOADSHIMS_H
// What HBONELoad needs from Linux that Swift's Glibc module does not import: epoll, and accept4
// (declared only under _GNU_SOURCE, so wrapped in loadshims.c).
#include <sys/epoll.h>

/// accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC): a nonblocking accepted socket in one call.
int load_accept_nonblocking(int fd);

#endif
