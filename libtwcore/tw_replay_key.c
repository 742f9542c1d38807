/*
 * tw_replay_key.c - the replay cache's key for a verified body.
 *
 * Not the MAC itself: cache back-ends store keys in the clear and some log
 * them (mod_socache_memcache does on errors), and the MAC is the signature
 * a client sent. A SHA-256 over a fixed label and the MAC is just as unique
 * and says nothing a log reader could resend.
 *
 * The scope goes in too, length first (so no two scope/MAC pairs give the
 * same input): one token may sign deliveries to two webhook URLs, and a
 * delivery handled at one must not count as a duplicate at the other.
 */
#include <string.h>

#include <openssl/evp.h>

#include "twwebhook.h"

#define TW_REPLAY_KEY_LABEL "mod_twwebhook replay key v2"

tw_status_t tw_replay_key(const unsigned char mac[TW_MAC_LEN],
                          const char *scope, size_t scope_len,
                          unsigned char key[TW_MAC_LEN])
{
    unsigned char scope_len_be[8];
    unsigned int len = 0;
    EVP_MD_CTX *ctx;
    size_t i;
    int ok;

    if (mac == NULL || scope == NULL || key == NULL)
        return TW_ERR_ARG;
    for (i = 0; i < sizeof(scope_len_be); i++)
        scope_len_be[i] = (unsigned char)((apr_uint64_t)scope_len >> (8 * (7 - i)));
    if ((ctx = EVP_MD_CTX_new()) == NULL)
        return TW_ERR_NOMEM;
    ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1
        && EVP_DigestUpdate(ctx, TW_REPLAY_KEY_LABEL, sizeof(TW_REPLAY_KEY_LABEL) - 1) == 1
        && EVP_DigestUpdate(ctx, scope_len_be, sizeof(scope_len_be)) == 1
        && EVP_DigestUpdate(ctx, scope, scope_len) == 1
        && EVP_DigestUpdate(ctx, mac, TW_MAC_LEN) == 1
        && EVP_DigestFinal_ex(ctx, key, &len) == 1;
    EVP_MD_CTX_free(ctx);
    return (ok && len == TW_MAC_LEN) ? TW_OK : TW_ERR_CRYPTO;
}
