/*
 * common.c — helpers shared by every module: positions, a stable hash, glob matching, files
 * created with a fixed mode.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include "cdrwatch/common.h"

char *cw_pos_format(const cw_pos_t *pos, char *buf, size_t buflen)
{
    if (pos->partition < 0)
        snprintf(buf, buflen, "%s:%lld", pos->name ? pos->name : "?", (long long)pos->offset);
    else
        snprintf(buf, buflen, "%s/%d/%lld", pos->name ? pos->name : "?", (int)pos->partition,
                 (long long)pos->offset);
    return buf;
}

/* A byte-at-a-time multiply-xorshift hash with a final avalanche (splitmix64's finaliser).
 * Byte-wise so that the result does not depend on endianness or alignment. */
uint64_t cw_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (len + 1));
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = (uint64_t)p[i] | (uint64_t)p[i + 1] << 8 | (uint64_t)p[i + 2] << 16 |
                     (uint64_t)p[i + 3] << 24 | (uint64_t)p[i + 4] << 32 |
                     (uint64_t)p[i + 5] << 40 | (uint64_t)p[i + 6] << 48 | (uint64_t)p[i + 7] << 56;
        h ^= w * 0xbf58476d1ce4e5b9ULL;
        h = (h << 27 | h >> 37) * 0x94d049bb133111ebULL;
    }
    for (; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

static inline unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive search for n bytes of needle in s. */
static int contains_folded(const char *s, const char *needle, size_t n)
{
    unsigned char first = fold((unsigned char)needle[0]);
    for (; *s; s++) {
        if (fold((unsigned char)*s) != first)
            continue;
        size_t k = 1;
        while (k < n && s[k] && fold((unsigned char)s[k]) == fold((unsigned char)needle[k]))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* Iterative glob with a single backtrack point: linear in practice, no recursion. */
static int glob_general(const char *pattern, const char *s)
{
    const unsigned char *p = (const unsigned char *)pattern, *t = (const unsigned char *)s;
    const unsigned char *star = NULL, *resume = NULL;
    while (*t) {
        if (*p == '*') {
            star = ++p;
            resume = t;
        } else if (*p && (*p == '?' || fold(*p) == fold(*t))) {
            p++;
            t++;
        } else if (star) {
            p = star;
            t = ++resume;
        } else {
            return 0;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* The shapes rules use most — "literal" and "*literal*" — take direct paths: they run per
 * record. */
int cw_glob_match(const char *pattern, const char *s)
{
    size_t plen = strlen(pattern);
    if (plen >= 3 && pattern[0] == '*' && pattern[plen - 1] == '*' &&
        !memchr(pattern + 1, '*', plen - 2) && !memchr(pattern + 1, '?', plen - 2))
        return contains_folded(s, pattern + 1, plen - 2);
    if (!memchr(pattern, '*', plen) && !memchr(pattern, '?', plen))
        return strcasecmp(pattern, s) == 0;
    return glob_general(pattern, s);
}

size_t cw_strlcpy(char *dst, const char *src, size_t dstlen)
{
    size_t n = strlen(src);
    if (dstlen == 0)
        return 0;
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

int cw_file_create(const char *path, unsigned mode)
{
    struct stat sb;
    bool set;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -1;
    /* the umask may have taken bits off, and a file already there keeps its mode: set it */
    set = fstat(fd, &sb) == 0 &&
               (!S_ISREG(sb.st_mode) || (sb.st_mode & 07777) == mode || fchmod(fd, (mode_t)mode) == 0);
    if (!set) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

FILE *cw_file_fcreate(const char *path, unsigned mode)
{
    int fd = cw_file_create(path, mode);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (fd >= 0 && !f) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}
