/*
 * backup.c - online backup of a SQLite database (db_backup()).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db/sqlite/internal.h"

/* Fsyncs the directory that holds `path`, so that a rename in it is durable. */
static int sync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

enum err sq_backup(struct db *db, const char *dest, int64_t *bytes, struct errinfo *ei)
{
    struct sqlite_db *d = (struct sqlite_db *)db;
    if (access(dest, F_OK) == 0)
        return err_set(ei, ERR_CONFLICT, "file", "%s exists: choose a new name", dest);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.partial-%ld", dest, (long)getpid()) >= (int)sizeof tmp)
        return err_set(ei, ERR_INVALID, "file", "the file name is too long");
    unlink(tmp);
    sqlite3 *out = NULL;
    sqlite3_backup *b = NULL;
    sqlite3_stmt *st = NULL;
    enum err e = ERR_OK;
    if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot create %s: %s", tmp,
                    out ? sqlite3_errmsg(out) : "out of memory");
        goto out;
    }
    /* every page in one step: one snapshot, which a writer elsewhere cannot restart */
    if (!(b = sqlite3_backup_init(out, "main", d->own.h, "main")) ||
        sqlite3_backup_step(b, -1) != SQLITE_DONE) {
        e = err_set(ei, ERR_UNAVAILABLE, "db", "the copy failed: %s", sqlite3_errmsg(out));
        goto out;
    }
    int64_t pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    b = NULL;
    if (sqlite3_errcode(out) != SQLITE_OK ||
        sqlite3_exec(out, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL", NULL, NULL,
                     NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(out, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW ||
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        e = err_set(ei, ERR_UNAVAILABLE, "db", "the copy does not check out: %s",
                    st && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0)
                                                     : sqlite3_errmsg(out));
        goto out;
    }
    int64_t page_size = 0;
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(out, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        page_size = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    /* the journal-mode change committed with a sync; the file is complete on disk */
    if (sqlite3_close(out) != SQLITE_OK) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot close %s", tmp);
        goto out;
    }
    out = NULL;
    if (rename(tmp, dest) != 0 || sync_dir_of(dest) != 0) {
        e = err_set(ei, ERR_UNAVAILABLE, "file", "cannot move the copy to %s: %s", dest,
                    strerror(errno));
        goto out;
    }
    if (bytes)
        *bytes = pages * page_size;
out:
    if (b)
        sqlite3_backup_finish(b);
    sqlite3_finalize(st);
    if (out)
        sqlite3_close(out);
    if (e)
        unlink(tmp);
    return e;
}
