# SPDX-License-Identifier: Apache-2.0
# Runs last: the error logs of the whole run never show a configured
# secret, nor any signature sent, nor any MAC the module computed (every
# correct signature under a configured secret was recorded by sign()), and
# no child crashed and no [twwebhook:error] (server fault) was logged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $t_logs = tw_vars()->{t_logs};
my $log = slurp("$t_logs/error_log");
ok(defined $log && length $log, 'the error log has content');
$log //= '';
# plus the error logs of the extra servers (t/110_replay.t's, ...)
for my $extra (glob "$t_logs/*/error_log") {
    $log .= slurp($extra) // '';
}

like($log, qr/\[twwebhook:(?:info|debug)\]/, 'sanity: the log holds the module\'s lines');

for my $name (sort keys %SECRET) {
    unlike($log, qr/\Q$SECRET{$name}\E/, "secret \"$name\" is not in the error log");
}

my %sent;
for (split /\n/, slurp("$t_logs/tw-sent-signatures.txt") // '') {
    s/^\s+|\s+$//g;
    $sent{$_} = 1 if length;
}
cmp_ok(scalar keys %sent, '>', 0,
       'sanity: this run recorded the signatures it sent (run this file after the others)');

# every 64-hex-digit run in the log, lowercased
my %in_log = map { lc($_) => 1 } $log =~ /(?<![0-9A-Fa-f])([0-9A-Fa-f]{64})(?![0-9A-Fa-f])/g;
my @leaked;
for my $s (sort keys %sent) {
    my ($hex) = $s =~ /([0-9A-Fa-f]{64})/;
    if ($hex && $in_log{lc $hex}) {
        push @leaked, $s;
    }
    elsif (length $s >= 16 && index($log, $s) >= 0) {   # a malformed value verbatim
        push @leaked, $s;
    }
}
is(scalar @leaked, 0, 'no signature sent nor MAC computed appears in the error log')
    or diag("in the log: @leaked[0 .. ($#leaked < 4 ? $#leaked : 4)]");

my @crash = $log =~ /^(.*(?:exit signal|Segmentation fault|AH00052|child pid \d+ exit signal).*)$/mg;
is(scalar @crash, 0, 'no httpd child crashed') or diag(join "\n", @crash);

my @expected = grep { length } split /\n/, slurp("$t_logs/tw-expected-faults.txt") // '';
my @faults = grep { my $l = $_; !grep { index($l, $_) >= 0 } @expected }
    $log =~ /^(.*\[twwebhook:(?:error|crit|alert|emerg)\].*)$/mg;
is(scalar @faults, 0, 'no [twwebhook:error] (server fault) other than the provoked ones')
    or diag(join "\n", @faults);

done_testing();
