package TwApxs;
# SPDX-License-Identifier: Apache-2.0
# Where the httpd, its modules, php-fpm and other programs are, for the test
# harnesses (t/TEST.PL, t/lib, t/stress): from apxs, PATH and what is installed,
# not from Debian 12's paths. The same look-ups as scripts/lib/common.sh, for Perl.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(apxs_q httpd_binary find_program php_fpm_binary php_fpm_app_settings);

# PATH, then where Debian puts daemons and admin tools (a test user's PATH
# may lack the sbin directories).
my @SEARCH = qw(/usr/sbin /usr/bin /sbin /bin);

sub search_path { return (split(/:/, $ENV{PATH} // ''), @SEARCH) }

# find_program($name, ...): the first of the names that is an executable
# file on search_path(), or undef.
sub find_program {
    for my $name (@_) {
        for my $dir (search_path()) {
            my $p = "$dir/$name";
            return $p if -x $p && !-d $p;
        }
    }
    return undef;
}

# apxs_q($var): what `apxs -q VAR` says, cached; dies when it says nothing.
# $APXS first, then apxs, then apxs2 (its name on some distributions).
my %APXS_Q;
sub apxs_q {
    my ($var) = @_;
    return $APXS_Q{$var} if exists $APXS_Q{$var};
    for my $apxs (grep { defined && length } $ENV{APXS}, qw(apxs apxs2)) {
        my $v = qx("$apxs" -q $var 2>/dev/null);
        chomp $v;
        return $APXS_Q{$var} = $v if $? == 0 && length $v;
    }
    die "`apxs -q $var` gave nothing (Debian: apt-get install apache2-dev)\n";
}

# httpd_binary(): the httpd apxs builds for, SBINDIR/TARGET (Debian's
# /usr/sbin/apache2).
sub httpd_binary { return apxs_q('SBINDIR') . '/' . apxs_q('TARGET') }

# php_fpm_binary(): $PHP_FPM, else the newest php-fpmX.Y (Debian names the
# binary after its PHP: 8.2 on Debian 12, 8.4 on 13), else a plain
# php-fpm, on search_path(); undef when there is none. The order of
# scripts/lib/common.sh's php_fpm_binary.
sub php_fpm_binary {
    return $ENV{PHP_FPM} if $ENV{PHP_FPM};
    my @found = grep { -x $_ && !-d _ && m{/php-fpm\d+\.\d+$} } map { glob "$_/php-fpm*" } search_path();
    my ($newest) = sort { version_of($b) <=> version_of($a) } @found;
    return $newest // find_program('php-fpm');
}

# "./php-fpm8.10" -> 8010: orders 8.10 after 8.9
sub version_of {
    my ($major, $minor) = $_[0] =~ /(\d+)\.(\d+)$/;
    return $major * 1000 + $minor;
}

# php_fpm_app_settings(): the lines of a php-fpm pool the test apps need,
# in every harness alike: raw bodies (php://input whatever the
# Content-Type, no size cap), room for large ones, errors logged and never
# shown.
sub php_fpm_app_settings {
    return <<'EOF';
catch_workers_output = yes
request_terminate_timeout = 60
php_admin_value[enable_post_data_reading] = Off
php_admin_value[post_max_size] = 0
php_admin_value[memory_limit] = 256M
php_admin_flag[log_errors] = on
php_admin_flag[display_errors] = off
EOF
}

1;
