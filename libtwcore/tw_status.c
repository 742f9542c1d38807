/*
 * SPDX-License-Identifier: Apache-2.0
 * tw_status.c - English descriptions of the core's status codes.
 *
 * The glue puts these into its log lines, so they name what went wrong and
 * never carry request data, a secret or a MAC.
 */
#include "tw/base.h"

const char *tw_status_str(tw_status_t status)
{
    switch (status) {
    case TW_OK:                     return "ok";
    case TW_ERR_SIG_MISSING:        return "signature header missing";
    case TW_ERR_SIG_MALFORMED:      return "signature header malformed";
    case TW_ERR_SIG_MISMATCH:       return "signature mismatch";
    case TW_ERR_ARG:                return "invalid argument";
    case TW_ERR_CRYPTO:             return "cryptographic library failure";
    case TW_ERR_NOMEM:              return "out of memory";
    case TW_ERR_JSON_INVALID:       return "body is not one JSON document";
    case TW_ERR_JSON_NOT_FOUND:     return "JSON pointer names nothing in the body";
    case TW_ERR_JSON_NOT_SCALAR:    return "JSON value is not a string, number or boolean";
    case TW_ERR_JSON_UNSAFE_VALUE:  return "JSON value too long or has control characters";
    case TW_ERR_TS_MISSING:         return "signed timestamp missing";
    case TW_ERR_TS_MALFORMED:       return "signed timestamp malformed";
    case TW_ERR_TS_STALE:           return "signed timestamp too old";
    case TW_ERR_TS_FUTURE:          return "signed timestamp too far in the future";
    case TW_ERR_ID_MISSING:         return "signed message id missing";
    case TW_ERR_ID_MALFORMED:       return "signed message id malformed";
    case TW_ERR_SECRET_MALFORMED:   return "secret is not a valid key for this profile";
    case TW_ERR_SECRET_EMPTY:       return "secret is empty";
    case TW_ERR_SECRET_TOO_LONG:    return "secret is too long";
    case TW_ERR_SECRET_LINE_BREAK:  return "secret has a line break inside";
    case TW_ERR_JSON_AMBIGUOUS:     return "JSON that parsers read differently (a repeated member name, \\u0000 in a name, or a lone surrogate)";
    }
    /* Not a tw_status_t at all: still a string, so a caller can log it. */
    return "unknown status";
}
