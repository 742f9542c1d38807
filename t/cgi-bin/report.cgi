#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# CGI downstream of the mod_twwebhook integration tests (run by mod_cgid).
# Reads its whole stdin and reports, as JSON, what it received: the body's
# SHA-256 and length and the request variables the tests compare with what
# they sent. It appends "cgi <X-Tw-Test-Id>" to $TW_TEST_LOG first, so a
# test can prove the downstream never ran for a rejected request.
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
use Fcntl qw(:flock);
use JSON::PP ();
use Time::HiRes ();

# a redelivery (twwebhook-inbox) has no X-Tw-Test-Id, but its Delivery
my $id = $ENV{HTTP_X_TW_TEST_ID} // $ENV{TW_WEBHOOK_DELIVERY} // '-';
if (my $log = $ENV{TW_TEST_LOG}) {
    if (open my $fh, '>>', $log) {
        flock $fh, LOCK_EX;
        print {$fh} "cgi $id\n";
        close $fh;
    }
}

# ?status=NNN answers with that status, ?sleep=N first waits N seconds
# (replay-cache tests: a failing app, a slow app)
my ($want_status) = ($ENV{QUERY_STRING} // '') =~ /\bstatus=(\d{3})\b/;
# ?fail_until=N: that status only for attempts 1..N (TW_WEBHOOK_ATTEMPT),
# then as usual (queue tests: an app that fails N times, then succeeds)
my ($fail_until) = ($ENV{QUERY_STRING} // '') =~ /\bfail_until=(\d+)\b/;
undef $want_status if defined $fail_until && ($ENV{TW_WEBHOOK_ATTEMPT} // 1) > $fail_until;
my ($want_sleep) = ($ENV{QUERY_STRING} // '') =~ /\bsleep=(\d+(?:\.\d+)?)\b/;

# ?exact reads CONTENT_LENGTH bytes and no more, as RFC 3875 (4.2) says a
# script must: it then acts on what the length says, not on what was sent.
my $exact = ($ENV{QUERY_STRING} // '') =~ /\bexact\b/;
binmode STDIN;
my $body = '';
while (!$exact || length $body < ($ENV{CONTENT_LENGTH} // 0)) {
    my $want = $exact ? ($ENV{CONTENT_LENGTH} - length $body) : 65536;
    my $n = sysread STDIN, my $buf, $want > 65536 ? 65536 : $want;
    die "read stdin: $!" unless defined $n;
    last unless $n;
    $body .= $buf;
}

# The module's temporary copy of a large body while this downstream runs:
# names in the spool directory, and descriptors open on a file there (held
# by an httpd child of the same user; the name may already be removed,
# readlink then ends in " (deleted)").
my ($spool_files, $spool_open);
if (my $dir = $ENV{TW_TEST_SPOOL_DIR}) {
    $spool_files = () = glob "$dir/twwebhook.*";
    $spool_open = 0;
    for my $fd (glob '/proc/[0-9]*/fd/*') {
        my $target = readlink $fd;
        $spool_open++ if defined $target && index($target, "$dir/twwebhook.") == 0;
    }
}

my %r = (
    downstream  => 'cgi',
    body_sha256 => sha256_hex($body),
    body_length => length $body,
    spool_files => $spool_files,
    spool_open  => $spool_open,
    test_id     => $id,
);
$r{$_} = $ENV{$_} for qw(CONTENT_LENGTH CONTENT_TYPE REQUEST_METHOD
    REQUEST_URI SCRIPT_NAME HTTP_TRANSFER_ENCODING
    TW_WEBHOOK_VERIFIED TW_WEBHOOK_EVENT TW_WEBHOOK_DELIVERY
    TW_WEBHOOK_SECRET_INDEX TW_WEBHOOK_ATTEMPT HTTP_TW_DISPATCH HTTP_TW_WEBHOOK_VERIFIED
    REDIRECT_TW_WEBHOOK_VERIFIED REDIRECT_TW_WEBHOOK_EVENT
    REDIRECT_TW_WEBHOOK_DELIVERY REDIRECT_TW_WEBHOOK_SECRET_INDEX);
# every variable whose name mentions the webhook (spoofing checks)
$r{tw_vars} = { map { $_ => $ENV{$_} } grep { /TW_?WEBHOOK/i } keys %ENV };
# every TW_* variable but the suite's own TW_TEST_* (TwWebhookExportJSON)
$r{tw_env} = { map { $_ => $ENV{$_} } grep { /^TW_/ && !/^TW_TEST_/ } keys %ENV };

# $TW_TEST_REPORTS (the queue's tests, whose dispatcher drops the app's
# answer): the report, with when it began, as one line there, then one
# "done" line with when it ended (concurrency is read from the two).
my $reports = $ENV{TW_TEST_REPORTS};
report_line($reports, { %r, t_start => Time::HiRes::time() }) if $reports;
select(undef, undef, undef, $want_sleep) if $want_sleep;
report_line($reports, { done => $id, t_end => Time::HiRes::time() }) if $reports;

sub report_line {
    my ($file, $h) = @_;
    open my $fh, '>>', $file or return;
    flock $fh, LOCK_EX;
    print {$fh} JSON::PP->new->canonical->encode($h), "\n";
    close $fh;
}
print "Status: $want_status\r\n" if $want_status;
print "Content-Type: application/json\r\n\r\n";
# one line, newline-terminated: TwTest::tw_nghttp finds it in nghttp's log
print JSON::PP->new->canonical->encode(\%r), "\n";
