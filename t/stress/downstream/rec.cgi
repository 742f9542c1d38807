#!/usr/bin/perl
# SPDX-License-Identifier: Apache-2.0
# Recorder downstream of scripts/stress (mod_cgid): the same line as
# rec.php, with "cgi" first, appended to $TW_STRESS_LOG under flock.
use strict;
use warnings;
use Digest::SHA ();
use Fcntl qw(:flock);

my $sha = Digest::SHA->new(256);
my $len = 0;
binmode STDIN;
while (1) {
    my $n = sysread STDIN, my $buf, 65536;
    last unless $n;
    $sha->add($buf);
    $len += $n;
}
sub f {
    my $v = $ENV{$_[0]};
    return '-' unless defined $v && length $v;
    $v =~ s/([^A-Za-z0-9._~-])/sprintf '%%%02X', ord $1/ge;
    return $v;
}
my $line = join(' ', 'cgi', f('TW_WEBHOOK_DELIVERY'), $sha->hexdigest, $len,
                f('TW_WEBHOOK_VERIFIED'), f('TW_WEBHOOK_EVENT'),
                f('TW_WEBHOOK_SECRET_INDEX'), f('CONTENT_LENGTH'),
                f('HTTP_X_STRESS_ID')) . "\n";
if (my $log = $ENV{TW_STRESS_LOG}) {
    if (open my $fh, '>>', $log) {
        flock $fh, LOCK_EX;
        print {$fh} $line;
        close $fh;
    }
}
print "Content-Type: text/plain\r\n\r\nok ", ($ENV{HTTP_X_STRESS_ID} // '-'), "\n";
