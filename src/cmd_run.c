/*
 * cmd_run.c — `cdrwatch run`, the Kafka driver. Not built yet: it validates the configuration
 * and says so, rather than pretending to run.
 */
#include <stdio.h>
#include <string.h>
#include "cdrwatch/config.h"
#include "cli.h"

int cw_cmd_run(apr_pool_t *pool, int argc, char **argv)
{
    (void)pool;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("Usage: cdrwatch run [--config FILE] [--brokers HOST:PORT,...] [--group ID]\n"
                 "\nThe Kafka driver is not in this build yet; use `cdrwatch replay` on files.");
            return CW_EXIT_OK;
        }
    }
    fputs("cdrwatch run: error: the Kafka driver is not in this build yet; "
          "use `cdrwatch replay` on files\n", stderr);
    return CW_EXIT_FAILURE;
}
