#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The trivial downstream of the like-for-like rows: run as a CGI behind
# mod_twwebhook ("module-cgi") and as the command of the webhook daemon
# ("webhook"). It consumes whatever is on stdin and says ok.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\nok\n'
