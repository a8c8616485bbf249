/*
 * powercut.h - the records of tests/crash/powercut.c, read by tests/crash/test_powerloss.c.
 */
#ifndef QUANZI_TESTS_POWERCUT_H
#define QUANZI_TESTS_POWERCUT_H

#include <stdint.h>

#define PC_DB_NAME "quanzi.db"

enum pc_file { PC_FILE_DB, PC_FILE_WAL, PC_FILE_DIR, PC_FILES };

enum pc_op {
    PC_WRITE = 1, /* off, len, then len bytes */
    PC_SYNC,      /* fsync or fdatasync of the file: what was written to it is durable */
    PC_DIRSYNC,   /* fsync of the folder: the files created in it are durable */
    PC_TRUNCATE,  /* off: the new size */
    PC_CREATE,    /* an open made the file */
    PC_UNLINK,
};

struct pc_rec {
    uint32_t op;
    uint32_t file;
    uint64_t off;
    uint64_t len;
};

#endif
