/*
 * SPDX-License-Identifier: Apache-2.0
 * tw/codec.h - hex and base64, both ways, strict and with an explicit
 * output capacity (libsodium's rule): the signature grammars decode with
 * these, and tools print with them.
 *
 * Hazards: a decoder fails closed on anything but the one encoding of a
 * byte string (no whitespace, no other alphabet, no lenient padding), and
 * leaves or zeroes its output as documented per function: never use out
 * after a failure. An encoder writes nothing when out is too small.
 */
#ifndef TW_CODEC_H
#define TW_CODEC_H

#include <stddef.h>

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- hex --------------------------------------------------------------- */

/*
 * Decodes exactly hex_len hex digits (either case) into hex_len / 2 bytes.
 * Fails closed with TW_ERR_ARG when hex_len is odd, when hex_len / 2 exceeds
 * out_cap, or on any non-hex character; out is then left unspecified.
 */
TW_MUST_CHECK
tw_status_t tw_hex_decode(const char *hex, size_t hex_len,
                          unsigned char *out, size_t out_cap);

/*
 * Writes the lowercase hex of in[0..len) and a NUL into out. Returns
 * TW_ERR_ARG, writing nothing, when out_cap < 2 * len + 1.
 */
TW_MUST_CHECK
tw_status_t tw_hex_encode(const unsigned char *in, size_t len,
                          char *out, size_t out_cap);

/* ---- base64 (RFC 4648 section 4: standard alphabet, padded) -------------- */

/*
 * Decodes exactly b64_len characters of strict base64: length a multiple
 * of 4, '=' only as the one or two last characters, unused bits of the
 * last character zero (so each byte string has exactly one encoding), no
 * whitespace, no line breaks, no URL-safe alphabet. *plen gets the decoded
 * length. Fails closed with TW_ERR_ARG when the text is not that, or the
 * bytes would exceed out_cap; out is then zeroed up to out_cap and *plen is 0.
 */
TW_MUST_CHECK
tw_status_t tw_base64_decode(const char *b64, size_t b64_len,
                             unsigned char *out, size_t out_cap, size_t *plen);

/* The encoded length of len bytes, without NUL: 4 * ceil(len / 3). */
#define TW_BASE64_LEN(len) ((((len) + 2) / 3) * 4)

/*
 * Writes the padded base64 of in[0..len) and a NUL into out. Returns
 * TW_ERR_ARG, writing nothing, when out_cap < TW_BASE64_LEN(len) + 1.
 */
TW_MUST_CHECK
tw_status_t tw_base64_encode(const unsigned char *in, size_t len,
                             char *out, size_t out_cap);

#ifdef __cplusplus
}
#endif

#endif /* TW_CODEC_H */
