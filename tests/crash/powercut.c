/*
 * powercut.so - an LD_PRELOAD shim for the power-loss test (test builds only; never linked
 * into quanzi). It records, in order, what reaches the disk's cache and what is made durable
 * for the database of one folder:
 *
 *   POWERCUT_DIR  the data folder; its quanzi.db and quanzi.db-wal are watched, and the
 *                 folder itself (a sync of it makes the files created in it durable)
 *   POWERCUT_LOG  the record file (appended; it survives the SIGKILL that ends the run)
 *   POWERCUT_SYNC_DELAY_US  a pause before each sync of a watched file, so that a kill
 *                 finds written but unsynced data more often (optional)
 *
 * Records (struct pc_rec, tests/crash/powercut.h): every write with its bytes, truncation,
 * fsync/fdatasync of a file, fsync of the folder, creation and removal of a file. Each call
 * and its record are made under one lock, so the records' order is the calls' order.
 * tests/crash/test_powerloss.c rebuilds from them the files a power cut could leave.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "powercut.h"

#define MAX_FD 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static signed char watched[MAX_FD]; /* fd -> PC_FILE_* + 1, 0: not watched */
static char dir[4096];
static size_t dir_len;
static int log_fd = -1;
static useconds_t sync_delay_us;

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_close)(int);
static int (*real_unlink)(const char *);

__attribute__((constructor)) static void powercut_init(void)
{
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_openat = dlsym(RTLD_NEXT, "openat");
    real_openat64 = dlsym(RTLD_NEXT, "openat64");
    real_write = dlsym(RTLD_NEXT, "write");
    real_pwrite = dlsym(RTLD_NEXT, "pwrite");
    real_pwrite64 = dlsym(RTLD_NEXT, "pwrite64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_ftruncate = dlsym(RTLD_NEXT, "ftruncate");
    real_ftruncate64 = dlsym(RTLD_NEXT, "ftruncate64");
    real_close = dlsym(RTLD_NEXT, "close");
    real_unlink = dlsym(RTLD_NEXT, "unlink");
    const char *d = getenv("POWERCUT_DIR"), *l = getenv("POWERCUT_LOG");
    if (!d || !l || strlen(d) >= sizeof dir)
        return;
    strcpy(dir, d);
    dir_len = strlen(dir);
    while (dir_len > 1 && dir[dir_len - 1] == '/')
        dir[--dir_len] = '\0';
    log_fd = real_open(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    const char *delay = getenv("POWERCUT_SYNC_DELAY_US");
    sync_delay_us = delay ? (useconds_t)strtoul(delay, NULL, 10) : 0;
}

/* The watched file a path names, or -1. */
static int file_of(const char *path)
{
    if (log_fd < 0 || !path || strncmp(path, dir, dir_len) != 0)
        return -1;
    const char *rest = path + dir_len;
    if (*rest == '\0' || strcmp(rest, "/") == 0)
        return PC_FILE_DIR;
    if (strcmp(rest, "/" PC_DB_NAME) == 0)
        return PC_FILE_DB;
    if (strcmp(rest, "/" PC_DB_NAME "-wal") == 0)
        return PC_FILE_WAL;
    return -1;
}

static void write_all(const void *p, size_t n)
{
    while (n) {
        ssize_t w = real_write(log_fd, p, n);
        if (w <= 0)
            return;
        p = (const char *)p + w;
        n -= (size_t)w;
    }
}

/* Under the lock, after the call it records: a SIGKILL between the two leaves a record cut
 * short, where the reader stops. */
static void record(uint32_t op, int file, uint64_t off, const void *data, uint64_t len)
{
    struct pc_rec r = {.op = op, .file = (uint32_t)file, .off = off, .len = data ? len : 0};
    write_all(&r, sizeof r);
    if (data)
        write_all(data, (size_t)len);
}

static int watch(int fd, int file, bool created)
{
    if (fd >= 0 && fd < MAX_FD && file >= 0) {
        watched[fd] = (signed char)(file + 1);
        if (created)
            record(PC_CREATE, file, 0, NULL, 0);
    }
    return fd;
}

static int file_of_fd(int fd)
{
    return fd >= 0 && fd < MAX_FD ? watched[fd] - 1 : -1;
}

#define OPEN_BODY(call)                                                                            \
    mode_t mode = 0;                                                                               \
    if (flags & (O_CREAT | O_TMPFILE)) {                                                           \
        va_list ap;                                                                                \
        va_start(ap, flags);                                                                       \
        mode = va_arg(ap, mode_t);                                                                 \
        va_end(ap);                                                                                \
    }                                                                                              \
    int file = file_of(path);                                                                      \
    if (file < 0)                                                                                  \
        return call;                                                                               \
    pthread_mutex_lock(&lock);                                                                     \
    bool existed = access(path, F_OK) == 0;                                                        \
    int fd = call;                                                                                 \
    watch(fd, file, fd >= 0 && !existed);                                                          \
    pthread_mutex_unlock(&lock);                                                                   \
    return fd;

int open(const char *path, int flags, ...)
{
    OPEN_BODY(real_open(path, flags, mode))
}

int open64(const char *path, int flags, ...)
{
    OPEN_BODY(real_open64(path, flags, mode))
}

int openat(int at, const char *path, int flags, ...)
{
    OPEN_BODY(real_openat(at, path, flags, mode))
}

int openat64(int at, const char *path, int flags, ...)
{
    OPEN_BODY(real_openat64(at, path, flags, mode))
}

static ssize_t pwrite_as(ssize_t (*fn)(int, const void *, size_t, off_t), int fd, const void *buf,
                         size_t n, off_t off)
{
    int file = file_of_fd(fd);
    if (file < 0)
        return fn(fd, buf, n, off);
    pthread_mutex_lock(&lock);
    ssize_t w = fn(fd, buf, n, off);
    if (w > 0)
        record(PC_WRITE, file, (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&lock);
    return w;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite_as(real_pwrite, fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite_as(real_pwrite64, fd, buf, n, off);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    int file = file_of_fd(fd);
    if (file < 0)
        return real_write(fd, buf, n);
    pthread_mutex_lock(&lock);
    off_t off = lseek(fd, 0, SEEK_CUR);
    ssize_t w = real_write(fd, buf, n);
    if (w > 0)
        record(PC_WRITE, file, (uint64_t)off, buf, (uint64_t)w);
    pthread_mutex_unlock(&lock);
    return w;
}

static int sync_as(int (*fn)(int), int fd)
{
    int file = file_of_fd(fd);
    if (file < 0)
        return fn(fd);
    if (sync_delay_us)
        usleep(sync_delay_us); /* outside the lock: writes may go on meanwhile */
    pthread_mutex_lock(&lock);
    int rc = fn(fd);
    if (rc == 0)
        record(file == PC_FILE_DIR ? PC_DIRSYNC : PC_SYNC, file, 0, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}

int fsync(int fd)
{
    return sync_as(real_fsync, fd);
}

int fdatasync(int fd)
{
    return sync_as(real_fdatasync, fd);
}

static int truncate_as(int (*fn)(int, off_t), int fd, off_t len)
{
    int file = file_of_fd(fd);
    if (file < 0)
        return fn(fd, len);
    pthread_mutex_lock(&lock);
    int rc = fn(fd, len);
    if (rc == 0)
        record(PC_TRUNCATE, file, (uint64_t)len, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}

int ftruncate(int fd, off_t len)
{
    return truncate_as(real_ftruncate, fd, len);
}

int ftruncate64(int fd, off_t len)
{
    return truncate_as(real_ftruncate64, fd, len);
}

int close(int fd)
{
    if (file_of_fd(fd) >= 0) {
        pthread_mutex_lock(&lock);
        watched[fd] = 0;
        int rc = real_close(fd);
        pthread_mutex_unlock(&lock);
        return rc;
    }
    return real_close(fd);
}

int unlink(const char *path)
{
    int file = file_of(path);
    if (file < 0)
        return real_unlink(path);
    pthread_mutex_lock(&lock);
    int rc = real_unlink(path);
    if (rc == 0)
        record(PC_UNLINK, file, 0, NULL, 0);
    pthread_mutex_unlock(&lock);
    return rc;
}
