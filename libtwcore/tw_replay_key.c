/*
 * tw_replay_key.c - the replay cache's key for a verified body.
 *
 * Not the MAC itself: cache back-ends store keys in the clear and some log
 * them (mod_socache_memcache does on errors), and the MAC is the signature
 * a client sent. A SHA-256 over a fixed label and the MAC is just as unique
 * and says nothing a log reader could resend.
 */
#include <string.h>

#include <openssl/evp.h>

#include "twwebhook.h"

#define TW_REPLAY_KEY_LABEL "mod_twwebhook replay key v1"

tw_status_t tw_replay_key(const unsigned char mac[TW_MAC_LEN],
                          unsigned char key[TW_MAC_LEN])
{
    unsigned char input[sizeof(TW_REPLAY_KEY_LABEL) - 1 + TW_MAC_LEN];
    unsigned int len = 0;
    int ok;

    if (mac == NULL || key == NULL)
        return TW_ERR_ARG;
    memcpy(input, TW_REPLAY_KEY_LABEL, sizeof(TW_REPLAY_KEY_LABEL) - 1);
    memcpy(input + sizeof(TW_REPLAY_KEY_LABEL) - 1, mac, TW_MAC_LEN);
    ok = EVP_Digest(input, sizeof(input), key, &len, EVP_sha256(), NULL);
    tw_cleanse(input, sizeof(input));
    return (ok == 1 && len == TW_MAC_LEN) ? TW_OK : TW_ERR_CRYPTO;
}
