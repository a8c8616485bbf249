#include "http/jsonmem.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#define HDR 16
#define MAGIC_ARENA 0x41524e41u /* "ARNA" */
#define MAGIC_HEAP 0x48454150u  /* "HEAP" */

static _Thread_local struct arena *tls_arena;

static void *hook_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p;
    uint32_t magic;
    if (tls_arena) {
        p = arena_alloc(tls_arena, n + HDR);
        magic = MAGIC_ARENA;
    } else {
        p = malloc(n + HDR);
        magic = MAGIC_HEAP;
    }
    if (!p)
        return NULL;
    *(uint32_t *)p = magic;
    return p + HDR;
}

static void hook_free(void *ptr)
{
    if (!ptr)
        return;
    unsigned char *p = (unsigned char *)ptr - HDR;
    if (*(uint32_t *)p == MAGIC_HEAP)
        free(p);
    /* arena memory is released with its arena */
}

void jsonmem_install(void)
{
    json_set_alloc_funcs(hook_malloc, hook_free);
}

void jsonmem_use(struct arena *a)
{
    tls_arena = a;
}
