# SPDX-License-Identifier: Apache-2.0
# Event and Delivery are not signed: after a valid signature, values that
# are not plain are refused with 400; the signature is checked first. The
# names providers really send pass (TASK.CREATED, orders/create, evt_...).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use TwTest;

my $body = '{"event":"page.updated"}';
my $sig = sign($body, $SECRET{a});

my %bad_event = (
    'Page.Updated! (punctuation)' => 'Page.Updated!',
    'inner space'                 => 'page updated',
    'dot dot (a path out)'        => '../etc/passwd',
    'slash first'                 => '/orders/create',
    'two slashes'                 => 'orders//create',
    'dot slash'                   => 'orders/./create',
    'dash first'                  => '-x',
    'colon'                       => 'page:updated',
    'non-ASCII'                   => "p\xc3\xa4ge.updated",
    '129 characters'              => 'e' x 129,
    'empty'                       => '',
    'quote'                       => 'page"updated',
);
my %bad_delivery = (
    'plus'           => 'abc+def',
    'dot'            => 'abc.def',
    'inner space'    => 'abc def',
    'slash'          => '../../etc/passwd',
    '129 characters' => 'D' x 129,
    'empty'          => '',
    'non-ASCII'      => "d\xc3\xa9livery",
);

for my $what (sort keys %bad_event) {
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body, signature => $sig,
                         event => $bad_event{$what});
    check_rejected($res, 400, 'TWW0111', 'Event header not plain', $mark, "cgi: Event $what");
}
for my $what (sort keys %bad_delivery) {
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'cgi'), body => $body, signature => $sig,
                         event => 'page.updated', delivery => $bad_delivery{$what});
    check_rejected($res, 400, 'TWW0112', 'Delivery header not plain', $mark,
                   "cgi: Delivery $what");
}

{
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', 'php'), body => $body, signature => $sig,
                         event => 'Page.Updated!');
    check_rejected($res, 400, 'TWW0111', 'Event header not plain', $mark,
                   'php: Event Page.Updated!');
    $mark = log_mark();
    $res = tw_request(path => url('prot', 'php'), body => $body, signature => $sig,
                      delivery => 'abc+def');
    check_rejected($res, 400, 'TWW0112', 'Delivery header not plain', $mark,
                   'php: Delivery abc+def');
}

# What providers send passes, exported as sent.
for my $ds (downstreams()) {
    for my $event ('TASK.CREATED', 'Page.Updated', 'orders/create', 'payment_intent.succeeded') {
        my $res = tw_request(path => url('prot', $ds), body => $body, signature => $sig,
                             event => $event, delivery => 'evt_1NG8Du2eZvKYlo2C');
        check_delivered($res, $ds, $body, { TW_WEBHOOK_VERIFIED => '1', TW_WEBHOOK_EVENT => $event,
                                            TW_WEBHOOK_DELIVERY => 'evt_1NG8Du2eZvKYlo2C' },
                        "$ds: Event $event and an evt_ Delivery: delivered as sent");
    }
}

# The signature is checked before Event/Delivery: a bad one gives 401.
for my $ds (downstreams()) {
    my $mark = log_mark();
    my $res = tw_request(path => url('prot', $ds), body => $body, event => 'Page.Updated!',
                         signature => sign($body, $SECRET{unknown}));
    check_rejected($res, 401, 'TWW0110', 'signature mismatch', $mark,
                   "$ds: invalid Event with a wrong signature: 401, not 400");
    $mark = log_mark();
    $res = tw_request(path => url('prot', $ds), body => $body, event => 'Page.Updated!',
                      delivery => 'bad_delivery');
    check_rejected($res, 401, 'TWW0102', 'signature header missing', $mark,
                   "$ds: invalid Event and Delivery without a signature: 401");
}

done_testing();
