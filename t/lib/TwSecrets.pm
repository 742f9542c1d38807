package TwSecrets;
# SPDX-License-Identifier: Apache-2.0
# The secrets the integration suite configures, in one place: t/TEST.PL
# puts the inline ones into t/conf/extra.conf (as @TW_SECRET_*@ tokens) and
# writes the file: ones under t/logs/secrets/ before httpd starts; the tests
# sign with the same values and t/999_error_log.t checks none of them ever
# reaches the error log. Test values only: none is used anywhere else.
use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(%SECRET secret_files write_secret_files);

our %SECRET = (
    a       => 'aInl1ne-7c1d0e5b93f2-Sekr1t',       # inline, most locations
    old     => 'oldT0ken-4e8a2b6d1f09-rotat1on',    # inline, /rotate index 1
    file    => 'f1leT0ken-9b3c5d7e2a41-fromFile',   # file: (LF), /rotate index 2
    crlf    => 'crlfT0ken-61e0f2a9c8b7-dosLine',    # file: (CRLF), /crlf
    unknown => 'n0tConfigured-2d4f6a8c0e1b-any',    # configured nowhere
);

# name => [file name under t/logs/secrets, content]
sub secret_files {
    return (
        file => [ 'rotation.secret', "$SECRET{file}\n" ],
        crlf => [ 'crlf.secret',     "$SECRET{crlf}\r\n" ],
    );
}

# Called by t/TEST.PL with t/logs before httpd reads its configuration.
sub write_secret_files {
    my ($t_logs) = @_;
    my $dir = "$t_logs/secrets";
    mkdir $dir, 0700 unless -d $dir;
    my %files = secret_files();
    for my $f (values %files) {
        my $path = "$dir/$f->[0]";
        open my $fh, '>:raw', $path or die "write $path: $!";
        print {$fh} $f->[1];
        close $fh or die "close $path: $!";
        chmod 0600, $path;
    }
    return $dir;
}

1;
