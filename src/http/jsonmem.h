/*
 * jsonmem.h - jansson allocates from the current request's arena.
 *
 * jsonmem_install() points jansson's allocator at hooks that use the arena
 * set for the calling thread by jsonmem_use() (the HTTP layer sets it around
 * each request), and plain malloc otherwise. Freeing arena memory is a no-op:
 * the arena goes as a whole. When the arena is full, jansson sees an
 * allocation failure and the request gets 413.
 */
#ifndef QUANZI_HTTP_JSONMEM_H
#define QUANZI_HTTP_JSONMEM_H

#include "util/arena.h"

void jsonmem_install(void);
/* The arena for this thread's jansson allocations; NULL restores malloc. */
void jsonmem_use(struct arena *a);

#endif
