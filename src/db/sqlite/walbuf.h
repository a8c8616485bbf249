/*
 * walbuf.h - a SQLite VFS that writes a transaction's log frames in one call.
 *
 * SQLite appends a commit to its write-ahead log as two write() calls per
 * page (frame header, page), 30-odd system calls per order, all made while
 * the one writer holds the write lock. Opened through this VFS, a log file
 * gathers consecutive appends in memory and hands them to the kernel in one
 * write when SQLite syncs the log, which with synchronous=FULL it does at
 * every commit before the commit is visible to anyone. That sync does not
 * fsync: group commit (sqlite.c) makes the log durable before any answer.
 * The log is also written out before any other use of the file (a read back,
 * its size, a truncation, closing). Every other file, and every lock, is the
 * default VFS's own.
 */
#ifndef QUANZI_DB_WALBUF_H
#define QUANZI_DB_WALBUF_H

/* Registers the VFS (once) and returns its name, or NULL if SQLite refused it. */
const char *walbuf_vfs(void);

#endif
