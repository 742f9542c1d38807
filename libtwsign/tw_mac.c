/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_mac.c - the one-shot HMAC-SHA256 that signing is built on, for
 * twwebhook-sign, the tests, the fuzz targets and the benchmark.
 *
 * WARNING: this hands a computed MAC to its caller, which is why it lives
 * in libtwsign and not in libtwcore: the module links libtwcore only and
 * must never compute a MAC it could give a client (tw/sign.h). The
 * verifier's own MACs (libtwcore/tw_hmac.c) never leave that file.
 *
 * OpenSSL 3's one-shot EVP_Q_mac: no keyed context outlives the call, so
 * the key is in no state of ours afterwards.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tw/sign.h"

tw_status_t tw_hmac_sha256(const void *secret, size_t secret_len,
                           const void *data, size_t len,
                           unsigned char out[TW_MAC_LEN])
{
    size_t out_len = 0;

    if (out == NULL || secret == NULL || secret_len < 1 || secret_len > TW_SECRET_MAX
        || (data == NULL && len > 0))
        return TW_ERR_ARG;

    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
                  data, len, out, TW_MAC_LEN, &out_len) == NULL
        || out_len != TW_MAC_LEN) {
        OPENSSL_cleanse(out, TW_MAC_LEN);
        return TW_ERR_CRYPTO;
    }
    return TW_OK;
}
