#ifndef ZEST_CMNL_SHIM_H
#define ZEST_CMNL_SHIM_H
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/fib_rules.h>
#include <libmnl/libmnl.h>
#endif
