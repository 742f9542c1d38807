#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The example CGI: mod_twwebhook replays the verified body on stdin and
# puts the verified facts in the environment.
printf 'Content-Type: text/plain\n\n'
sum=$(sha256sum | cut -c1-64)
echo "cgi script: verified=${TW_WEBHOOK_VERIFIED:--} event=${TW_WEBHOOK_EVENT:--} delivery=${TW_WEBHOOK_DELIVERY:--} secret#${TW_WEBHOOK_SECRET_INDEX:--}"
echo "cgi script: ${CONTENT_LENGTH:-0} bytes, sha256 $sum"
