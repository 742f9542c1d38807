package TwApxs;
# Where the httpd, its modules and php-fpm are, for the test harnesses
# (t/TEST.PL, t/stress): from apxs and from what is installed, not from
# Debian 12's paths. The same look-ups as scripts/lib/common.sh, for Perl.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(apxs_q httpd_binary php_fpm_binary php_fpm_app_settings);

my @SEARCH = qw(/usr/sbin /usr/bin /sbin);

sub search_path { return (split(/:/, $ENV{PATH} // ''), @SEARCH) }

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

# php_fpm_binary(): $PHP_FPM, else a plain php-fpm, else the newest
# php-fpmX.Y (Debian names the binary after its PHP: 8.2 on Debian 12, 8.4
# on 13), on PATH or in /usr/sbin, /usr/bin, /sbin; undef when there is none.
sub php_fpm_binary {
    return $ENV{PHP_FPM} if $ENV{PHP_FPM};
    my @dirs = search_path();
    for my $d (@dirs) {
        return "$d/php-fpm" if -x "$d/php-fpm" && !-d _;
    }
    my @found = grep { -x $_ && !-d _ && m{/php-fpm\d+\.\d+$} } map { glob "$_/php-fpm*" } @dirs;
    my ($newest) = sort { version_of($b) <=> version_of($a) } @found;
    return $newest;
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
