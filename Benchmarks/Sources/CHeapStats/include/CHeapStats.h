#ifndef CHEAPSTATS_H
#define CHEAPSTATS_H
#include <stddef.h>

/// Bytes currently allocated from the glibc heap (mallinfo2().uordblks + hblkhd for mmapped blocks).
size_t zest_heap_in_use(void);

#endif
