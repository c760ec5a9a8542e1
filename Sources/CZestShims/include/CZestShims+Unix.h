#ifndef ZEST_CZESTSHIMS_UNIX_H
#define ZEST_CZESTSHIMS_UNIX_H

/* Unix-domain datagrams with file descriptors attached (SCM_RIGHTS), for ZDS enrollment.
   The CMSG_* macros do not import into Swift, so the whole sendmsg/recvmsg lives here. */
#include <stddef.h>
#include <sys/types.h>

/* The most descriptors Zest accepts in one datagram; more arrive as MSG_CTRUNC. */
#define ZEST_MAX_PASSED_FDS 16
/* The most descriptors one datagram can carry at all (the kernel's SCM_MAX_FD). */
#define ZEST_MAX_SENT_FDS 253

/* sendmsg(2) of `len` bytes with `nfds` (0...ZEST_MAX_SENT_FDS) descriptors as SCM_RIGHTS,
   MSG_NOSIGNAL. Returns bytes sent, or -1 with errno. */
ssize_t zest_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);

/* recvmsg(2) with MSG_CMSG_CLOEXEC into `buf`; every SCM_RIGHTS descriptor received is stored
   in `fds` (up to `max_fds`, extra ones are closed) and counted in `*nfds`; `*msg_flags` gets
   msghdr.msg_flags (MSG_TRUNC, MSG_CTRUNC). Returns bytes received, or -1 with errno. */
ssize_t zest_recv_with_fds(int sock, void *buf, size_t cap, int *fds, int max_fds, int *nfds,
                           int *msg_flags, int flags);

/* ioctl(NS_GET_NSTYPE): the CLONE_NEW* type of a namespace fd, or -1 with errno
   (ENOTTY/EINVAL when the fd is not a namespace). */
int zest_namespace_type(int fd);

int zest_const_MSG_TRUNC(void);
int zest_const_MSG_CTRUNC(void);
int zest_const_MSG_DONTWAIT(void);

#endif
