/*
 * cli.h - the quanzi command line: serve, migrate, demo, admin create,
 * jobs run, help, version.
 */
#ifndef QUANZI_CLI_H
#define QUANZI_CLI_H

int cli_main(int argc, char **argv);

#endif
