/*
 * cli.h - the quanzi command line: one table of commands (cli.c) - serve,
 * migrate, demo, admin create, jobs run, settle, ledger check, audit,
 * migrate-data, backup - and help and version. Settings come from config.h.
 * Returns the process's exit code: 0 done, 1 failed, 2 misused.
 */
#ifndef QUANZI_CLI_H
#define QUANZI_CLI_H

int cli_main(int argc, char **argv);

#endif
