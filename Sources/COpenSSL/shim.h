// OpenSSL macros Swift cannot import, wrapped one per function, no logic.
#ifndef LIFELINE_COPENSSL_SHIM_H
#define LIFELINE_COPENSSL_SHIM_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

static inline long lifeline_SSL_set_tlsext_host_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline long lifeline_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline int lifeline_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) { return (int)SSL_CTX_set_min_proto_version(ctx, version); }
static inline uint64_t lifeline_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) { return SSL_CTX_set_options(ctx, options); }

static const long LIFELINE_SSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long LIFELINE_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long LIFELINE_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const uint64_t LIFELINE_SSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const int LIFELINE_TLS1_2_VERSION = TLS1_2_VERSION;
/// Server contexts refuse client-initiated TLS 1.2 renegotiation (a CPU-exhaustion vector).
static const uint64_t LIFELINE_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
/// PEM file type for certificate and key loading (a macro of a macro).
static const int LIFELINE_SSL_FILETYPE_PEM = SSL_FILETYPE_PEM;

#endif
