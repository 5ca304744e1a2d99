#!/usr/bin/perl
# with-cpu-time.pl FILE CMD [ARG...]: run CMD, then write the CPU time it
# used (it and its children, from the kernel's accounting at wait()) to
# FILE as "user_seconds kernel_seconds"; exit with CMD's status (128+N if a
# signal N ended it).  The benches use it to charge a load client's own CPU
# beside the server's.
use strict;
use warnings;

die "usage: with-cpu-time.pl FILE CMD [ARG...]\n" if @ARGV < 2;
my $file = shift @ARGV;
my @before = times;
my $rc = system { $ARGV[0] } @ARGV;
my @after = times;
die "with-cpu-time.pl: cannot run $ARGV[0]: $!\n" if $rc == -1;
open my $out, '>', $file or die "with-cpu-time.pl: $file: $!\n";
printf $out "%.6f %.6f\n", $after[2] - $before[2], $after[3] - $before[3];
close $out or die "with-cpu-time.pl: $file: $!\n";
exit($rc & 127 ? 128 + ($rc & 127) : $rc >> 8);
