#define _GNU_SOURCE
#include "CZestShims+Unix.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/nsfs.h>

ssize_t zest_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > ZEST_MAX_SENT_FDS) { errno = EINVAL; return -1; }
    union {
        char bytes[CMSG_SPACE(sizeof(int) * ZEST_MAX_SENT_FDS)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL);
}

ssize_t zest_recv_with_fds(int sock, void *buf, size_t cap, int *fds, int max_fds, int *nfds,
                           int *msg_flags, int flags) {
    union {
        char bytes[CMSG_SPACE(sizeof(int) * ZEST_MAX_PASSED_FDS)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buf, .iov_len = cap };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.bytes, .msg_controllen = sizeof(control.bytes),
    };
    *nfds = 0;
    *msg_flags = 0;
    ssize_t n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    *msg_flags = msg.msg_flags;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < max_fds) fds[(*nfds)++] = fd;
            else close(fd);
        }
    }
    return n;
}

int zest_namespace_type(int fd) { return ioctl(fd, NS_GET_NSTYPE); }

int zest_const_MSG_TRUNC(void) { return MSG_TRUNC; }
int zest_const_MSG_CTRUNC(void) { return MSG_CTRUNC; }
int zest_const_MSG_DONTWAIT(void) { return MSG_DONTWAIT; }
