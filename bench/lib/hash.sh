#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The large-body CGI: hashes the request body it gets on stdin, so the
# benchmark can check it arrived byte for byte.
printf 'Content-Type: text/plain\r\n\r\n'
exec openssl dgst -sha256 -r
