/* Baseline for `zest bench-tls handshakes`: the same full mTLS handshake loop written
 * directly against OpenSSL's C API, with the same settings (TLS 1.3 only, one AES-GCM suite,
 * P-256/X25519, no tickets, ALPN h2 both sides, client certificate required and verified to
 * the same root) and the same transport (a fresh nonblocking socketpair per handshake, client
 * and server stepped alternately on one thread). It does no SPIFFE checks: the difference to
 * Zest is the cost of Zest's layer (Swift objects, verify callback, policies).
 *
 * Build: cc -O2 -o tls-handshake-baseline tls-handshake-baseline.c -lssl -lcrypto
 * Usage: tls-handshake-baseline SERVER_DIR CLIENT_DIR COUNT SUITE
 */
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const unsigned char alpn[] = {2, 'h', '2'};

static int select_h2(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                     const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    for (unsigned int i = 0; i + 1 < inlen; i += 1 + in[i]) {
        if (in[i] == 2 && i + 3 <= inlen && memcmp(in + i + 1, "h2", 2) == 0) {
            *out = in + i + 1; *outlen = 2; return SSL_TLSEXT_ERR_OK;
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static SSL_CTX *make_ctx(int server, const char *dir, const char *suite) {
    char path[4096];
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, suite);
    SSL_CTX_set1_groups_list(ctx, "P-256:X25519");
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    snprintf(path, sizeof path, "%s/cert.pem", dir);
    if (SSL_CTX_use_certificate_chain_file(ctx, path) != 1) goto fail;
    snprintf(path, sizeof path, "%s/key.pem", dir);
    if (SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) != 1) goto fail;
    snprintf(path, sizeof path, "%s/root.pem", dir);
    if (SSL_CTX_load_verify_locations(ctx, path, NULL) != 1) goto fail;
    SSL_CTX_set_verify(ctx, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, NULL);
    if (server) SSL_CTX_set_alpn_select_cb(ctx, select_h2, NULL);
    else SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
    return ctx;
fail:
    ERR_print_errors_fp(stderr);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s SERVER_DIR CLIENT_DIR COUNT SUITE\n", argv[0]); return 2; }
    SSL_CTX *sctx = make_ctx(1, argv[1], argv[4]), *cctx = make_ctx(0, argv[2], argv[4]);
    int count = atoi(argv[3]);
    struct timespec a, b, ca, cb;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    for (int i = 0; i < count; i++) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) { perror("socketpair"); return 1; }
        SSL *c = SSL_new(cctx), *s = SSL_new(sctx);
        SSL_set_fd(c, fds[0]); SSL_set_fd(s, fds[1]);
        SSL_set_connect_state(c); SSL_set_accept_state(s);
        int cd = 0, sd = 0;
        while (!(cd && sd)) {
            if (!cd) { int r = SSL_do_handshake(c); if (r == 1) cd = 1; else { int e = SSL_get_error(c, r); if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) { ERR_print_errors_fp(stderr); return 1; } } }
            if (!sd) { int r = SSL_do_handshake(s); if (r == 1) sd = 1; else { int e = SSL_get_error(s, r); if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) { ERR_print_errors_fp(stderr); return 1; } } }
        }
        SSL_free(c); SSL_free(s);
        close(fds[0]); close(fds[1]);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    double cpu = (cb.tv_sec - ca.tv_sec) + (cb.tv_nsec - ca.tv_nsec) / 1e9;
    printf("c-api-handshakes count=%d seconds=%.3f per_second=%.0f per_cpu_second=%.0f\n", count, secs, count / secs, count / cpu);
    return 0;
}
