#include "db/sqlite/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_MAX (4 * 1024 * 1024) /* gathered at most; a bigger commit writes in steps */
/* the default VFS writes at most 128 KiB - 1 in one call (os_unix.c, seekAndWrite) */
#define WALBUF_CALL_MAX (64 * 1024)

struct walbuf_file {
    sqlite3_file base;  /* pMethods: walbuf_methods */
    sqlite3_file *real; /* the default VFS's file, in the bytes after this struct */
    unsigned char *buf;
    size_t len;
    sqlite3_int64 start; /* file offset of buf[0] */
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs walbuf_vfs_def;
static sqlite3_io_methods walbuf_methods;

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((struct walbuf_file *)f)->real;
}

static int flush(struct walbuf_file *w)
{
    int rc = SQLITE_OK;
    for (size_t at = 0; rc == SQLITE_OK && at < w->len; at += WALBUF_CALL_MAX) {
        size_t n = w->len - at < WALBUF_CALL_MAX ? w->len - at : WALBUF_CALL_MAX;
        rc = w->real->pMethods->xWrite(w->real, w->buf + at, (int)n, w->start + (sqlite3_int64)at);
    }
    w->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *f)
{
    struct walbuf_file *w = (struct walbuf_file *)f;
    int rc = flush(w);
    int rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *p, int amt, sqlite3_int64 off)
{
    int rc = flush((struct walbuf_file *)f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xRead(real_of(f), p, amt, off);
}

static int wb_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
    struct walbuf_file *w = (struct walbuf_file *)f;
    bool follows = w->len && off == w->start + (sqlite3_int64)w->len;
    if (!follows || w->len + (size_t)amt > WALBUF_MAX) {
        int rc = flush(w);
        if (rc != SQLITE_OK)
            return rc;
        if ((size_t)amt > WALBUF_MAX)
            return w->real->pMethods->xWrite(w->real, p, amt, off);
        w->start = off;
    }
    if (!w->buf && !(w->buf = malloc(WALBUF_MAX)))
        return SQLITE_NOMEM;
    memcpy(w->buf + w->len, p, (size_t)amt);
    w->len += (size_t)amt;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    int rc = flush((struct walbuf_file *)f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xTruncate(real_of(f), size);
}

/* The commit point: the frames go to the kernel; fsync is the syncer's. */
static int wb_sync(sqlite3_file *f, int flags)
{
    (void)flags;
    return flush((struct walbuf_file *)f);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    int rc = flush((struct walbuf_file *)f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int wb_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int wb_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int wb_check_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg)
{
    int rc = flush((struct walbuf_file *)f);
    return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int wb_sector_size(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int wb_device_characteristics(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) /* any other file is the default VFS's, in place */
        return real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
    struct walbuf_file *w = (struct walbuf_file *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)(w + 1);
    int rc = real_vfs->xOpen(real_vfs, name, w->real, flags, out_flags);
    w->base.pMethods = rc == SQLITE_OK ? &walbuf_methods : NULL;
    return rc;
}

static int registered = SQLITE_ERROR;

static void register_once(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs)
        return;
    walbuf_methods = (sqlite3_io_methods){
        .iVersion = 1,
        .xClose = wb_close,
        .xRead = wb_read,
        .xWrite = wb_write,
        .xTruncate = wb_truncate,
        .xSync = wb_sync,
        .xFileSize = wb_file_size,
        .xLock = wb_lock,
        .xUnlock = wb_unlock,
        .xCheckReservedLock = wb_check_reserved,
        .xFileControl = wb_file_control,
        .xSectorSize = wb_sector_size,
        .xDeviceCharacteristics = wb_device_characteristics,
    };
    walbuf_vfs_def = *real_vfs; /* everything else as the default VFS does it */
    walbuf_vfs_def.pNext = NULL;
    walbuf_vfs_def.zName = "quanzi-walbuf";
    walbuf_vfs_def.szOsFile = (int)sizeof(struct walbuf_file) + real_vfs->szOsFile;
    walbuf_vfs_def.xOpen = wb_open;
    registered = sqlite3_vfs_register(&walbuf_vfs_def, 0);
}

const char *walbuf_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_once);
    return registered == SQLITE_OK ? walbuf_vfs_def.zName : NULL;
}
