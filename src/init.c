/*
 * init.c — the one process-wide setup: cw_init (see cdrwatch/common.h).
 */
#include <apr_general.h>
#include "cdrwatch/common.h"
#include "cdrwatch/decode.h"

cw_status_t cw_init(void)
{
    if (apr_initialize() != APR_SUCCESS)
        return CW_ERR;
    cw_decode_init(); /* cJSON's allocation hooks: the decoders' per-record arena */
    return CW_OK;
}

void cw_terminate(void)
{
    apr_terminate();
}
