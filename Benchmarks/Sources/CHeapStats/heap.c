#include <malloc.h>
#include "CHeapStats.h"

size_t zest_heap_in_use(void) {
    struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
}
