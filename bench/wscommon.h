/* Helpers shared by the benchmark's C peers (wsbench.c, rotation/rotbench.c):
 * the WebSocket handshake's Sec-WebSocket-Accept (SHA-1 + base64), header lookup in a
 * request or response head, and raising the open-files limit. Static functions, no
 * state; include after <openssl/sha.h>, <string.h>, <strings.h>, <sys/resource.h>. */
#ifndef LIFELINE_BENCH_WSCOMMON_H
#define LIFELINE_BENCH_WSCOMMON_H

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void b64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63]; out[o++] = t[(v >> 6) & 63]; out[o++] = t[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63]; out[o++] = '='; out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63]; out[o++] = t[(v >> 6) & 63]; out[o++] = '=';
    }
    out[o] = 0;
}

static void ws_accept(const char *key, size_t keylen, char out[32]) {
    unsigned char buf[128], dig[SHA_DIGEST_LENGTH];
    if (keylen > 64) keylen = 64;
    memcpy(buf, key, keylen);
    memcpy(buf + keylen, WS_GUID, sizeof WS_GUID - 1);
    SHA1(buf, keylen + sizeof WS_GUID - 1, dig);
    b64(dig, SHA_DIGEST_LENGTH, out);
}

static const char *find_header(const char *head, size_t len, const char *name, size_t *vlen) {
    size_t nl = strlen(name);
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol) eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

#endif
