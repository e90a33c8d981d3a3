#include "secret.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int zsec_init(void) { return sodium_init() < 0 ? ZEN_ERR : ZEN_OK; }

void zsec_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
}

void zsec_fingerprint(const void *data, size_t len, char out[ZSEC_FINGERPRINT_LEN])
{
    unsigned char h[8];
    crypto_generichash(h, sizeof(h), data, len, NULL, 0);
    sodium_bin2hex(out, ZSEC_FINGERPRINT_LEN, h, sizeof(h));
}

void zsec_hash_key(const char *key, uint8_t out[ZSEC_KEY_HASH_BYTES])
{
    crypto_generichash(out, ZSEC_KEY_HASH_BYTES, (const unsigned char *)key, strlen(key), NULL,
                       0);
}

void zsec_wipe(void *p, size_t n) { sodium_memzero(p, n); }

void zsec_free(char *secret)
{
    if (!secret)
        return;
    sodium_memzero(secret, strlen(secret));
    free(secret);
}
