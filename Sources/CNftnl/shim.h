#ifndef ZEST_CNFTNL_SHIM_H
#define ZEST_CNFTNL_SHIM_H
/* netinet/in.h must come before the linux uapi headers (see shared/C-INTEROP.md 1.2). */
#include <netinet/in.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/common.h>
#include <libnftnl/batch.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#endif
