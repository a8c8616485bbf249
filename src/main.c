/* quanzi - a social-commerce and two-level distribution server. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
