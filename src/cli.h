/* cli.h — kept so that files including "cli.h" still build; the header is include/cdrwatch/cli.h. */
#include "cdrwatch/cli.h"
