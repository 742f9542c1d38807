# shellcheck shell=sh
# SPDX-License-Identifier: Apache-2.0
# scripts/lib/common.sh - what scripts/*, bench/run and demo/run share:
# Debian packages, the test user, and where apxs says httpd and php-fpm are.
# POSIX sh, to be sourced (". scripts/lib/common.sh"), from sh and bash
# scripts alike; it defines functions only and changes no shell option.
# Variables private to a function start with _ (POSIX sh has no "local").

# ---- Debian packages -------------------------------------------------------

# missing_debian_packages PKG...: prints those of PKG... that dpkg does not
# list as installed, space-separated (nothing when all are).
missing_debian_packages() {
    _missing=""
    for _p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$_p" 2>/dev/null | grep -q '^install ok installed$' \
            || _missing="${_missing:+$_missing }$_p"
    done
    [ -z "$_missing" ] || printf '%s\n' "$_missing"
}

# apt_get ARGS...: apt-get with no questions (no debconf prompt, -y) and its
# progress output dropped; its errors still go to stderr.
apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" >/dev/null
}

apt_get_update() {
    apt_get update
}

# apt_get_install PKG...: without Recommends: php-fpm's and apache2's would
# pull in more services, and this project starts its own throwaway
# instances and wants none running.
apt_get_install() {
    apt_get install --no-install-recommends "$@"
}

# need_debian_packages WHO PKG...: installs what of PKG... is missing (as
# root), or says what is missing and returns 1 (as anyone else, or when
# apt-get fails). WHO starts each message.
need_debian_packages() {
    _who=$1
    shift
    _need=$(missing_debian_packages "$@")
    [ -n "$_need" ] || return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "$_who: missing Debian packages: $_need" >&2
        echo "$_who: run as root (sudo) to install them" >&2
        return 1
    fi
    echo "$_who: installing $_need"
    # $_need unquoted: one word a package
    # shellcheck disable=SC2086
    apt_get_update && apt_get_install $_need && return 0
    echo "$_who: apt-get install $_need failed" >&2
    return 1
}

# ---- the test user ---------------------------------------------------------

# ensure_test_user: prints the user that tests run httpd's and php-fpm's
# children as. As root, TW_TEST_USER (default twtest), created as a system
# user without home or shell if absent: Apache::Test refuses root, and
# httpd's children should not be root. As anyone else, that user itself.
ensure_test_user() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
        return
    fi
    _user=${TW_TEST_USER:-twtest}
    if ! id -u "$_user" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$_user" || return 1
    fi
    printf '%s\n' "$_user"
}

# ---- httpd and php-fpm -----------------------------------------------------

# apxs_q VAR: what apxs says VAR is (apxs -q VAR), non-empty or status 1.
# $APXS first (as t/TEST.PL), else apxs, else apxs2 (its name on some
# distributions).
apxs_q() {
    _apxs=${APXS:-}
    if [ -z "$_apxs" ]; then
        _apxs=apxs
        command -v apxs >/dev/null 2>&1 || _apxs=apxs2
    fi
    _v=$("$_apxs" -q "$1" 2>/dev/null) && [ -n "$_v" ] && printf '%s\n' "$_v"
}

# httpd_binary: the httpd that apxs builds for (SBINDIR/TARGET: Debian's
# /usr/sbin/apache2).
httpd_binary() {
    _sbin=$(apxs_q SBINDIR) && _target=$(apxs_q TARGET) && printf '%s/%s\n' "$_sbin" "$_target"
}

# php_fpm_binary: $PHP_FPM, else the newest /usr/sbin/php-fpmX.Y (Debian
# names it after its PHP: 8.2 on Debian 12, 8.4 on 13), else a php-fpm on
# PATH; status 1 when there is none.
php_fpm_binary() {
    if [ -n "${PHP_FPM:-}" ]; then
        printf '%s\n' "$PHP_FPM"
        return 0
    fi
    # "if", not "&&": the loop must end with status 0, or a caller's
    # "set -o pipefail" would take the newest binary for none
    for _f in /usr/sbin/php-fpm[0-9]*; do
        if [ -x "$_f" ]; then printf '%s\n' "$_f"; fi
    done | sort -V | tail -n 1 | grep . || command -v php-fpm
}
