/*
 * fuzz.h — what every libFuzzer harness of tests/fuzz shares: one-time process setup, a pool
 * cleared after each input, the input split into lines, an event compared with another through
 * its JSON encoding, and a temporary file holding the input for the APIs that read files.
 *
 * A harness aborts (fuzz_fail) only when a property it checks does not hold; a record that is
 * refused with a reason is the decoders' normal answer, not a finding. ASan and UBSan (build.sh)
 * turn memory and undefined-behaviour errors into findings as well.
 */
#ifndef CDRWATCH_FUZZ_H
#define CDRWATCH_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "cdrwatch/config.h"
#include "cdrwatch/event.h"

/* The process setup (cw_init, quiet logging) once; the pool that lives as long as the process
 * (what a harness builds once: a configuration) ... */
apr_pool_t *fuzz_root(void);
/* ... and a pool cleared at each call (what one input needs). */
apr_pool_t *fuzz_pool(void);

/* The next line of [*p, end) with its newline; false at the end. */
bool fuzz_line(const char **p, const char *end, const char **line, size_t *len);

/* Do a and b hold the same record (every present field, its damage)? */
bool fuzz_same_event(const cw_event_t *a, const cw_event_t *b);

/* Print what and abort: a property the harness checks does not hold. */
void fuzz_fail(const char *what) __attribute__((noreturn));

/* Write data to a temporary file named with suffix (".csv", ".gz" ...) and return its path
 * (valid until the next call; fuzz_pool's cleanup removes the file). */
const char *fuzz_file(const uint8_t *data, size_t size, const char *suffix);

/* The default configuration with a small CDR reference and key tables (an engine a run costs
 * little), loaded into pool (the input's) at each call: the harnesses that build engines use it.
 * Not loaded once for the process: Debian's APR takes pool memory with mmap, which LeakSanitizer
 * does not scan, so the regexes glibc compiles for a configuration living in fuzz_root() (and the
 * states regexec adds to them on later inputs) look leaked at libFuzzer's leak checks. Per input,
 * the pool's cleanup frees them, and an input replays alone as it ran in a campaign. */
#define FUZZ_SMALL_CONFIG                                                                          \
    "{\"engine\": {\"max_keys\": 1000, \"evidence_ring\": 64},"                                 \
    " \"reference\": {\"sketch_width\": 1024, \"sketch_depth\": 2, \"max_links\": 1000}}"
const cw_config_t *fuzz_small_config(apr_pool_t *pool);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
