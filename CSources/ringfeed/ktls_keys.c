/* Keys for the kernel, derived the way the TLS specifications do, because
 * OpenSSL over memory BIOs never exports them:
 *
 *   TLS 1.3 (RFC 8446 7.3): key = HKDF-Expand-Label(secret, "key", "", key_len)
 *                           iv  = HKDF-Expand-Label(secret, "iv", "", 12)
 *     from CLIENT_/SERVER_TRAFFIC_SECRET_0; the kernel takes the iv as a
 *     4-byte salt and 8-byte iv and XORs the sequence number in itself.
 *   TLS 1.2 (RFC 5246 6.3): key_block = PRF(master_secret, "key expansion",
 *     server_random + client_random) = client key, server key, client IV,
 *     server IV (no MAC keys for AEAD). GCM: the 4-byte implicit IV is the
 *     salt and the kernel's iv is the 8-byte explicit nonce of the next
 *     record; ChaCha20 (RFC 7905): 12-byte IV, nonce = IV ^ sequence.
 *
 * tests/c/test_ktls.c decrypts real OpenSSL records with exactly this
 * output, and has OpenSSL accept records sealed with it. */
#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <string.h>

#include "ktls.h"
#include "ringfeed/error.h"
#include "tls_internal.h"

/* RFC 8446 7.1: HkdfLabel = length(2) || "tls13 " label (1 + n) || context (1 + 0). */
static int expand_label(const EVP_MD *md, const uint8_t *secret, size_t secret_len, const char *label,
                        uint8_t *out, size_t out_len)
{
    uint8_t info[2 + 1 + 6 + 16 + 1];
    size_t n = strlen(label);
    if (n > 16)
        return RF_EINVAL;
    size_t i = 0;
    info[i++] = (uint8_t)(out_len >> 8);
    info[i++] = (uint8_t)out_len;
    info[i++] = (uint8_t)(6 + n);
    memcpy(info + i, "tls13 ", 6);
    i += 6;
    memcpy(info + i, label, n);
    i += n;
    info[i++] = 0;

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, i),
        OSSL_PARAM_construct_end(),
    };
    int ok = k != NULL && EVP_KDF_derive(k, out, out_len, params) == 1;
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
    return ok ? 0 : RF_ENOMEM;
}

static int key_expansion(const EVP_MD *md, SSL *ssl, uint8_t *out, size_t out_len)
{
    uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
    uint8_t seed[13 + 2 * SSL3_RANDOM_SIZE];
    size_t mlen = SSL_SESSION_get_master_key(SSL_get_session(ssl), master, sizeof master);
    memcpy(seed, "key expansion", 13);
    if (mlen == 0 || SSL_get_server_random(ssl, seed + 13, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE ||
        SSL_get_client_random(ssl, seed + 13 + SSL3_RANDOM_SIZE, SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE)
        return RF_ESTATE;

    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, master, mlen),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed, sizeof seed),
        OSSL_PARAM_construct_end(),
    };
    int ok = k != NULL && EVP_KDF_derive(k, out, out_len, params) == 1;
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
    OPENSSL_cleanse(master, sizeof master);
    return ok ? 0 : RF_ENOMEM;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Fills the kernel layout from key, a 12-byte iv (TLS 1.3 and ChaCha20) or
 * 4-byte salt plus 8-byte explicit nonce (TLS 1.2 GCM), and the sequence. */
static void fill(rf__ktls_info *o, int v13, int cipher, const uint8_t *key, const uint8_t *iv,
                 const uint8_t *explicit_nonce, uint64_t seq)
{
    memset(o, 0, sizeof *o);
    o->u.info.version = v13 ? TLS_1_3_VERSION : TLS_1_2_VERSION;
    o->u.info.cipher_type = (uint16_t)cipher;
    switch (cipher) {
    case TLS_CIPHER_AES_GCM_128:
        memcpy(o->u.aes128.key, key, sizeof o->u.aes128.key);
        memcpy(o->u.aes128.salt, iv, 4);
        memcpy(o->u.aes128.iv, v13 ? iv + 4 : explicit_nonce, 8);
        put_be64(o->u.aes128.rec_seq, seq);
        o->len = sizeof o->u.aes128;
        break;
    case TLS_CIPHER_AES_GCM_256:
        memcpy(o->u.aes256.key, key, sizeof o->u.aes256.key);
        memcpy(o->u.aes256.salt, iv, 4);
        memcpy(o->u.aes256.iv, v13 ? iv + 4 : explicit_nonce, 8);
        put_be64(o->u.aes256.rec_seq, seq);
        o->len = sizeof o->u.aes256;
        break;
    default:
        memcpy(o->u.chacha.key, key, sizeof o->u.chacha.key);
        memcpy(o->u.chacha.iv, iv, sizeof o->u.chacha.iv);
        put_be64(o->u.chacha.rec_seq, seq);
        o->len = sizeof o->u.chacha;
        break;
    }
}

int rf__ktls_info_get(rf_tls *t, int dir, rf__ktls_info *out)
{
    memset(out, 0, sizeof *out);
    const rf__ktls_state *kt = &t->kt;
    if (!t->done || !kt->on || kt->rekeyed || t->error != 0)
        return RF_ESTATE;
    const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
    if (c == NULL)
        return RF_ESTATE;
    int cipher, key_len;
    switch (SSL_CIPHER_get_protocol_id(c)) {
    case 0x1301: case 0xc02f: case 0xc02b: case 0x009e: /* AES-128-GCM: 1.3, ECDHE-RSA/ECDSA, DHE-RSA */
        cipher = TLS_CIPHER_AES_GCM_128;
        key_len = 16;
        break;
    case 0x1302: case 0xc030: case 0xc02c: case 0x009f:
        cipher = TLS_CIPHER_AES_GCM_256;
        key_len = 32;
        break;
    case 0x1303: case 0xcca8: case 0xcca9: case 0xccaa:
        cipher = TLS_CIPHER_CHACHA20_POLY1305;
        key_len = 32;
        break;
    default:
        return RF_EUNSUPPORTED; /* CBC suites and the rest stay in userspace */
    }
    int v13 = SSL_version(t->ssl) == TLS1_3_VERSION;
    if (!v13 && SSL_version(t->ssl) != TLS1_2_VERSION)
        return RF_EUNSUPPORTED;

    /* Whose keys: ours when sending, the peer's when receiving. */
    int client_keys = (dir == RF__KTLS_TX) == !t->ctx->server;
    const rf__ktls_dir *d = &kt->dir[dir];
    uint64_t seq = d->records - (v13 ? d->epoch_fin : d->epoch_ccs);
    const EVP_MD *md = SSL_CIPHER_get_handshake_digest(c);
    if (md == NULL)
        return RF_EUNSUPPORTED;

    uint8_t key[32], iv[12], explicit_nonce[8] = {0};
    int rc;
    if (v13) {
        int who = client_keys ? 0 : 1;
        if (!kt->have_secret[who])
            return RF_ESTATE;
        rc = expand_label(md, kt->secret[who], kt->secret_len, "key", key, (size_t)key_len);
        if (rc == 0)
            rc = expand_label(md, kt->secret[who], kt->secret_len, "iv", iv, sizeof iv);
    } else {
        size_t iv_len = cipher == TLS_CIPHER_CHACHA20_POLY1305 ? 12 : 4;
        uint8_t block[2 * 32 + 2 * 12];
        size_t need = 2 * (size_t)key_len + 2 * iv_len;
        rc = key_expansion(md, t->ssl, block, need);
        if (rc == 0) {
            memcpy(key, block + (client_keys ? 0 : (size_t)key_len), (size_t)key_len);
            memcpy(iv, block + 2 * (size_t)key_len + (client_keys ? 0 : iv_len), iv_len);
        }
        OPENSSL_cleanse(block, sizeof block);
        if (rc == 0 && dir == RF__KTLS_TX && cipher != TLS_CIPHER_CHACHA20_POLY1305) {
            /* OpenSSL picks GCM explicit nonces as a counter from a random
             * start; the kernel continues that counter, so no nonce repeats
             * under this key. Only exact when every record written so far
             * has been taken out, which the caller checks. */
            const rf__ktls_scan *s = &kt->out;
            if (s->have != 0 || s->left != 0 || BIO_ctrl_pending(t->wbio) != 0)
                rc = RF_ESTATE;
            else
                put_be64(explicit_nonce, get_be64(s->nonce) + 1);
        }
    }
    if (rc == 0)
        fill(out, v13, cipher, key, iv, explicit_nonce, seq);
    OPENSSL_cleanse(key, sizeof key);
    OPENSSL_cleanse(iv, sizeof iv);
    return rc;
}

void rf__ktls_info_wipe(rf__ktls_info *info) { OPENSSL_cleanse(info, sizeof *info); }
