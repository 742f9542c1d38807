# SPDX-License-Identifier: Apache-2.0
# Large bodies: up to 64 KiB (TwWebhookSpoolMemoryLimit) stay in memory,
# the rest is spilled to a
# "twwebhook.*" temporary file in TwWebhookSpoolDir (t/logs/spool) that
# exists while the downstream runs (its name may already be removed: the
# downstreams also count descriptors open on it) and is gone after the
# request: no name left, no descriptor still open.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use TwTest;

my %v = (TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_SECRET_INDEX => '1');

# Waits up to 3 s for the spool directory to be empty of the module's files
# (the file is removed by the request pool's cleanup, which may run a moment
# after the response has been sent).
sub spool_empty {
    my $until = time + 3;
    my @f;
    while (1) {
        @f = (spool_files(), spool_open());
        return 1 unless @f;
        last if time > $until;
        sleep 0.1;
    }
    diag("left in the spool: @f");
    return 0;
}

# a spool file existed (by name or open descriptor) while the downstream ran
sub spilled {
    my ($res) = @_;
    my $j = $res->{json} || {};
    return ($j->{spool_files} || 0) + ($j->{spool_open} || 0) > 0 ? 1 : 0;
}

# 5 MiB of varied bytes (not one repeated pattern a shortcut could fake)
my $big = '';
{
    my $block = join '', map { chr(($_ * 7 + 3) % 256) } 0 .. 65535;
    my $i = 0;
    $big .= $block . pack('N', $i++) while length $big < 5 * 1024 * 1024;
    substr($big, 5 * 1024 * 1024) = '';
}

ok(spool_empty(), 'the spool directory starts empty');

for my $ds (downstreams()) {
    my $res = tw_request(path => url('big', $ds), body => $big, timeout => 60,
                         content_type => 'application/octet-stream',
                         signature => sign($big, $SECRET{a}));
    check_delivered($res, $ds, $big, \%v, "$ds: 5 MiB body delivered intact");
    is(spilled($res), 1,
       "$ds: while the downstream ran, the body was in a twwebhook.* spool file");
    ok(spool_empty(), "$ds: no twwebhook.* file left after the request");

    $res = tw_request(path => url('big', $ds), body => $big, timeout => 60, chunked => 65536,
                      content_type => 'application/octet-stream',
                      signature => sign($big, $SECRET{a}));
    check_delivered($res, $ds, $big, \%v, "$ds: 5 MiB chunked body delivered intact");
    ok(spool_empty(), "$ds: no twwebhook.* file left after the chunked request");
}

# The memory/disk boundary: 64 KiB in memory, one byte more on disk.
for my $len (65536, 65537) {
    my $body = 'm' x $len;
    my $res = tw_request(path => url('big', 'cgi'), body => $body,
                         signature => sign($body, $SECRET{a}));
    check_delivered($res, 'cgi', $body, \%v, "cgi: $len bytes");
    is(spilled($res), $len > 65536 ? 1 : 0,
       "$len bytes: " . ($len > 65536 ? 'a spool file' : 'no spool file'));
    ok(spool_empty(), "$len bytes: nothing left in the spool");
}

# TwWebhookSpoolMemoryLimit moves the boundary: 1 MiB in memory under
# /big/mem (handed back from the spool's buffer itself), nothing under
# /big/disk. Both downstreams, as each reads the hand-back its own way.
for my $case (['big/mem', 1048576, 0], ['big/mem', 1048577, 1], ['big/disk', 1, 1],
              ['big/disk', 200000, 1]) {
    my ($prefix, $len, $on_disk) = @$case;
    my $body = substr($big, 0, $len);
    for my $ds (downstreams()) {
        my $res = tw_request(path => url($prefix, $ds), body => $body, timeout => 60,
                             content_type => 'application/octet-stream',
                             signature => sign($body, $SECRET{a}));
        check_delivered($res, $ds, $body, \%v, "$ds: /$prefix, $len bytes delivered intact");
        is(spilled($res), $on_disk,
           "$ds: /$prefix, $len bytes: " . ($on_disk ? 'a spool file' : 'no spool file'));
        ok(spool_empty(), "$ds: /$prefix, $len bytes: nothing left in the spool");
    }
}

# Rejected big bodies leave nothing behind either.
{
    my $mark = log_mark();
    my $res = tw_request(path => url('big', 'cgi'), body => $big, timeout => 60,
                         signature => sign($big, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   '5 MiB with a wrong signature');
    ok(spool_empty(), 'no spool file left after a rejected 5 MiB body');

    $mark = log_mark();
    $res = tw_request(path => url('prot', 'php'), body => $big, chunked => 65536,
                      timeout => 60, signature => sign($big, $SECRET{a}));
    check_rejected($res, 413, 'TWW0109', 'body larger than TwWebhookMaxBodySize', $mark,
                   '5 MiB chunked over the default 1 MiB limit');
    ok(spool_empty(), 'no spool file left after a body cut off at the limit');
}

done_testing();
